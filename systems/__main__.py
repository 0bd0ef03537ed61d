"""`python -m systems`: serve the embedded systems with settings from the environment."""

import argparse
import logging

import uvicorn

from systems.app import create_app
from systems.settings import SystemsSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m systems", description=__doc__)
    parser.add_argument(
        "--seed", action="store_true", help="load the demo data even if the database has data"
    )
    parser.add_argument("--host", help="overrides Q2C_SYSTEMS_HOST")
    parser.add_argument("--port", type=int, help="overrides Q2C_SYSTEMS_PORT")
    args = parser.parse_args(argv)
    settings = SystemsSettings()
    overrides = {"host": args.host, "port": args.port}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(settings=settings, force_seed=args.seed)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
