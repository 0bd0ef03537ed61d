"""Admin routes: faults on demand. These routes are never faulted themselves."""

from fastapi import APIRouter, status
from pydantic import BaseModel

from systems.deps import InjectorDep
from systems.faults import FaultRule, SystemName
from systems.limits import StrictJsonRoute

router = APIRouter(prefix="/admin", tags=["admin"], route_class=StrictJsonRoute)


class FaultList(BaseModel):
    faults: list[FaultRule]


@router.get("/faults")
def get_faults(injector: InjectorDep) -> FaultList:
    return FaultList(faults=injector.rules())


@router.put("/faults")
def put_faults(injector: InjectorDep, body: FaultRule) -> FaultList:
    injector.set(rule=body)
    return FaultList(faults=injector.rules())


@router.delete("/faults", status_code=status.HTTP_200_OK)
def delete_faults(injector: InjectorDep, system: SystemName | None = None) -> FaultList:
    injector.clear(system=system)
    return FaultList(faults=injector.rules())
