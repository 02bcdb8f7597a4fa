"""Dependencies shared by the routers: settings and the image store."""
from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings, get_settings
from app.store import ImageStore


def get_store(request: Request) -> ImageStore:
    return request.app.state.store


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ImageStore, Depends(get_store)]
