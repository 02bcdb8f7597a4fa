"""Health and the API documentation page."""
from fastapi import APIRouter

router = APIRouter(tags=["system"])


@router.get("/api/health")
def health() -> dict:
    """Liveness: answers while the process serves requests."""
    return {"status": "ok"}
