"""Dependencies shared by the routers: settings and the image store."""
from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings, get_settings
from app.imaging.store import ImageStore


# Both are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread
# pool, two extra thread hops per request for a lookup that never blocks.


async def app_settings(request: Request) -> Settings:
    """The settings the app was created with (``create_app(settings)``), else the environment's."""
    return getattr(request.app.state, "settings", None) or get_settings()


async def get_store(request: Request) -> ImageStore:
    return request.app.state.store


SettingsDep = Annotated[Settings, Depends(app_settings)]
StoreDep = Annotated[ImageStore, Depends(get_store)]
