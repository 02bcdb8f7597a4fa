"""(placeholder: transposed convolution, 1-D convolution and framework-semantics endpoints)"""
from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["family"])
