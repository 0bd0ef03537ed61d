"""The worker process: registers the workflow and one activity class per system."""

import asyncio
import compileall
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Interceptor, Worker, WorkerDeploymentConfig

import workflows
from activities.accounts import AccountActivities
from activities.audit import AuditActivities, DiscardHandoffs, HandoffRecorder, InputKeeper
from activities.billing import BillingActivities
from activities.calendar import CalendarActivities
from activities.cash import CashActivities
from activities.collection import CollectionActivities
from activities.crm import CrmActivities
from activities.delivery import DeliveryActivities, DeliveryLog
from activities.documents import DocumentActivities, Offload
from activities.email_message import Sender
from activities.erp import ErpActivities
from activities.mailer import SmtpMailer
from activities.payments import PaymentActivities
from activities.revenue import RevenueActivities
from activities.routing import RoutingActivities
from activities.tax_http import HttpTaxEngine
from activities.usage import UsageActivities
from activities.versioning import VersioningActivities
from activities.vies import ViesActivities
from billing.dunning import DunningPolicies, load_dunning_policy
from billing.einvoice import warm_up
from billing.routing import RoutingPolicy, load_policy
from billing.tax import Seller, TaxEngine
from workers.audit.inputs import InputStore
from workers.audit.interceptor import AuditInterceptor
from workers.audit.store import AuditStore
from workers.calendar_starts import RunStarter
from workers.client import connect_patiently, data_converter
from workers.delivery_log import DeliveryLogStore
from workers.first_period import RunLookup
from workers.render_pool import RenderPool
from workers.retry_cap import RetryDelayCap
from workers.settings import Settings
from workers.telemetry import from_environment
from workflows.calendar_fanout import CalendarFanOutWorkflow
from workflows.quote_to_cash import QuoteToCashWorkflow
from workflows.revenue_recognition import RevenueRecognitionWorkflow

log = logging.getLogger("q2c.worker")


def systems_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client for every call to the systems of record."""
    return httpx.AsyncClient(
        base_url=settings.systems_url,
        headers={
            "Authorization": f"Bearer {settings.systems_token.get_secret_value()}",
            "Content-Type": "application/json",
        },
        timeout=settings.http_timeout_seconds,
        limits=httpx.Limits(
            max_connections=settings.http_max_connections,
            max_keepalive_connections=settings.http_max_connections,
        ),
    )


def seller_from(settings: Settings) -> Seller:
    """The seller the settings name; what they leave unset is the demo seller's."""
    given = {
        "name": settings.seller_name,
        "country": settings.seller_country,
        "subdivision": settings.seller_subdivision,
        "tax_id": settings.seller_tax_id,
        "street": settings.seller_street,
        "city": settings.seller_city,
        "postal_code": settings.seller_postal_code,
        "email": settings.seller_email,
        "phone": settings.seller_phone,
        "legal_registration": settings.seller_legal_registration,
        "electronic_address": settings.seller_electronic_address,
        "iban": settings.seller_iban,
        "bic": settings.seller_bic,
        "bank_name": settings.seller_bank_name,
        "registrations": settings.seller_registrations,
    }
    return Seller.model_validate({key: value for key, value in given.items() if value is not None})


def outside_client(settings: Settings) -> httpx.AsyncClient:
    """For services outside the systems of record (VIES, a tax engine): no systems token."""
    return httpx.AsyncClient(timeout=settings.http_timeout_seconds)


def activities_for(
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    tax_engine: TaxEngine | None = None,
    policy: RoutingPolicy | None = None,
    outside: httpx.AsyncClient | None = None,
    delivery_log: DeliveryLog | None = None,
    dunning: DunningPolicies | None = None,
    mailer: SmtpMailer | None = None,
    offload: Offload | None = None,
) -> Sequence[Callable[..., Any]]:
    """`outside` serves VIES, an external tax engine and the approval webhook; it is needed
    when VIES or the engine are on.
    With `delivery_log`, the delivery activities are registered too (the Peppol access point
    is reached through `http`, beside the other systems), sending e-mail through `mailer`
    (None: a connection per message) and rendering documents in `offload` (None: a thread
    of this process). `dunning`: the dunning policy (None: the file
    `Q2C_DUNNING_POLICY_FILE` names, else the shipped one)."""
    needs_outside = settings.vies_enabled or bool(settings.tax_engine_url)
    if needs_outside and outside is None:
        raise ValueError("outside: an HTTP client is needed for VIES or an external tax engine")
    crm = CrmActivities(client=http, vies_enabled=settings.vies_enabled)
    usage = UsageActivities(client=http)
    erp = ErpActivities(client=http, time_zone=ZoneInfo(settings.seller_time_zone))
    revenue = RevenueActivities(client=http)
    seller = seller_from(settings)
    billing = BillingActivities(
        tax_engine=tax_engine or _tax_engine(http=outside or http, settings=settings),
        seller=seller,
    )
    policy = policy or load_policy()
    # The approval webhook is outside the systems: the pooled `outside` client, when there
    # is one, rather than a client (and a connection) per notice.
    routing = RoutingActivities(client=http, policy=policy, ui_url=settings.ui_url, webhook=outside)
    activities: list[Callable[..., Any]] = [
        crm.validate_customer,
        crm.fetch_contract,
        usage.fetch_usage,
        billing.draft_invoice,
        billing.draft_amendment,
        billing.compute_tax,
        routing.fetch_route_history,
        routing.route,
        routing.notify,
        erp.post_invoice,
        erp.reconcile,
        erp.find_corrected_invoice,
        erp.find_activation,
        revenue.month_before,
        revenue.due_currencies,
        revenue.post_recognition,
        revenue.reconcile_revenue,
    ]
    activities += _cash_activities(http, routing=policy, dunning=dunning)
    if settings.vies_enabled and outside is not None:
        vies = ViesActivities(
            client=outside,
            base_url=settings.vies_url,
            block_unverified=settings.vies_block_unverified,
        )
        activities.append(vies.check_vat)
    if delivery_log is not None:
        delivery = DeliveryActivities(
            smtp=mailer or settings.smtp_target,
            sender=Sender(address=settings.smtp_sender, name=seller.name),
            peppol=http,
            log=delivery_log,
        )
        documents = DocumentActivities(seller=seller, delivery=delivery, offload=offload)
        activities += [delivery.send_email, delivery.send_peppol, documents.deliver_document]
    return activities


def _cash_activities(
    http: httpx.AsyncClient, *, routing: RoutingPolicy, dunning: DunningPolicies | None
) -> list[Callable[..., Any]]:
    """The payment provider, cash application in the ERP, account holds in the CRM and the
    collection's rules. A bad dunning policy file is refused here, at worker start, naming
    the field."""
    collection = CollectionActivities(dunning=dunning or load_dunning_policy(), routing=routing)
    payments = PaymentActivities(client=http)
    cash = CashActivities(client=http)
    accounts = AccountActivities(client=http)
    return [
        payments.charge_payment,
        payments.fetch_payment,
        payments.refund_payment,
        cash.post_payment,
        cash.post_refund,
        cash.post_write_off,
        cash.apply_credit_note,
        cash.read_cash_posting,
        cash.fetch_open_items,
        accounts.block_account,
        accounts.unblock_account,
        collection.plan_collection,
        collection.write_off_approval,
        collection.draft_dispute_credit,
    ]


def _tax_engine(*, http: httpx.AsyncClient, settings: Settings) -> TaxEngine:
    """The built-in rule table, or the external engine named by Q2C_TAX_ENGINE_URL."""
    from billing.tax import default_engine

    if not settings.tax_engine_url:
        return default_engine()
    return HttpTaxEngine(client=http, url=settings.tax_engine_url)


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """Worker Versioning, when Q2C_DEPLOYMENT_NAME and Q2C_BUILD_ID name this worker's build.

    Runs are pinned to the build that started them: a short run ends on the code it began
    with, and a deploy cannot change a run mid-step. A run about to wait for weeks (approval,
    payment, dunning) switches itself to auto-upgrade (workflows/versioning.py), and one
    begun before that step is moved on with `q2c deploy advance`; either then replays on the
    new build, which `workflow.patched` and the recorded histories keep safe.
    None: an unversioned worker, as before."""
    if settings.deployment_name is None or settings.build_id is None:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(
            deployment_name=settings.deployment_name, build_id=settings.build_id
        ),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.PINNED,
    )


def interceptors(settings: Settings, audit: HandoffRecorder | None) -> list[Interceptor]:
    """The retry cap first (the outermost), so the audit trail records each failure as the
    activity raised it."""
    chain: list[Interceptor] = []
    if settings.retry_delay_cap_seconds is not None:
        chain.append(RetryDelayCap(timedelta(seconds=settings.retry_delay_cap_seconds)))
    if audit is not None:
        chain.append(AuditInterceptor(recorder=audit))
    return chain


def build_worker(
    client: Client,
    *,
    settings: Settings,
    http: httpx.AsyncClient,
    tax_engine: TaxEngine | None = None,
    policy: RoutingPolicy | None = None,
    audit: HandoffRecorder | None = None,
    outside: httpx.AsyncClient | None = None,
    delivery_log: DeliveryLog | None = None,
    dunning: DunningPolicies | None = None,
    inputs: InputKeeper | None = None,
    mailer: SmtpMailer | None = None,
    offload: Offload | None = None,
) -> Worker:
    """With `audit`, every activity execution is written to the audit trail; with `inputs`,
    every input a run kept only cut is written there whole; with `mailer`, e-mail goes over
    its kept connections (the caller closes it after the worker); with `offload`, documents
    are rendered there (a `RenderPool`), else in a thread."""
    recorder = AuditActivities(recorder=audit or DiscardHandoffs(), client=client, inputs=inputs)
    lookup = RunLookup(client=client, erp=http)
    # Only a versioned run asks to follow the current build (workflows/versioning.py).
    versioning = (
        [VersioningActivities(client=client).follow_current_build] if settings.versioned else []
    )
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[QuoteToCashWorkflow, CalendarFanOutWorkflow, RevenueRecognitionWorkflow],
        activities=[
            CalendarActivities(client=http, default_time_zone=settings.seller_time_zone).list_due,
            RunStarter(client=client).start_runs,
            lookup.find_first_period_run,
            lookup.find_run,
            *activities_for(
                http=http,
                settings=settings,
                tax_engine=tax_engine,
                policy=policy,
                outside=outside,
                delivery_log=delivery_log,
                dunning=dunning,
                mailer=mailer,
                offload=offload,
            ),
            recorder.record_handoff,
            recorder.keep_whole_input,
            recorder.record_skipped,
            *versioning,
        ],
        interceptors=interceptors(settings, audit),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_task_polls=settings.workflow_task_pollers,
        max_concurrent_activity_task_polls=settings.activity_task_pollers,
        sticky_queue_schedule_to_start_timeout=timedelta(
            seconds=settings.sticky_schedule_to_start_seconds
        ),
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        deployment_config=deployment_config(settings),
    )


def compile_workflows() -> bool:
    """Write the workflow package's bytecode, even under PYTHONDONTWRITEBYTECODE.

    The sandbox executes the workflow module afresh for every run it starts, loading it
    like any import: from `__pycache__` when the bytecode is there, else by compiling the
    source again, a few milliseconds of CPU per run. Container images often set
    PYTHONDONTWRITEBYTECODE, so the worker writes it once at start. False when the folder
    is read-only (the worker then runs as before).
    """
    if not sys.dont_write_bytecode:
        return True  # Python writes it on the first import
    return bool(compileall.compile_dir(Path(workflows.__file__).parent, quiet=2))


async def run_worker(settings: Settings) -> None:
    """Poll until SIGINT or SIGTERM, then drain: running activities get the grace period.

    Missing or malformed encryption keys stop it before it connects (KeyConfigError): a
    worker must not poll tasks it could not read, nor write payloads others cannot."""
    converter = data_converter(settings)
    if not compile_workflows():
        log.info("workflow bytecode not written: each new run compiles the workflow module")
    telemetry = from_environment()
    client = await connect_patiently(
        within=settings.connect_timeout_seconds, telemetry=telemetry, converter=converter
    )
    audit = AuditStore(url=settings.audit_url)
    audit.create()
    inputs = InputStore(url=settings.audit_url)
    inputs.create()
    delivery_log = DeliveryLogStore(url=settings.audit_url)
    delivery_log.create()
    if not settings.render_processes:
        # The EN 16931 stylesheets compile once per process (about a second): before the
        # first delivery, off any workflow task. A render pool's processes compile their own.
        await asyncio.to_thread(warm_up)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with (
            telemetry.instrument(systems_client(settings)) as http,
            telemetry.instrument(outside_client(settings)) as outside,
            SmtpMailer(settings.smtp_target) as mailer,  # QUIT after the worker's drain
            _render_pool(settings) as offload,  # shut down after the worker's drain
        ):
            worker = build_worker(
                client,
                settings=settings,
                http=http,
                audit=audit,
                outside=outside,
                delivery_log=delivery_log,
                inputs=inputs,
                mailer=mailer,
                offload=offload,
            )
            async with worker:
                log.info(
                    "worker polling task queue %r%s",
                    settings.task_queue,
                    f" as build {settings.build_id} of deployment {settings.deployment_name}"
                    if settings.versioned
                    else "",
                )
                await stop.wait()
                log.info(
                    "draining: waiting up to %ss for running activities",
                    settings.graceful_shutdown_seconds,
                )
    finally:
        telemetry.shutdown()  # flushes the spans still batched
        audit.dispose()
        inputs.dispose()
        delivery_log.dispose()


@asynccontextmanager
async def _render_pool(settings: Settings) -> AsyncIterator[RenderPool | None]:
    if not settings.render_processes:
        yield None
        return
    async with RenderPool(settings.render_processes) as pool:
        yield pool
