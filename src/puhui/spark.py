"""One Spark session per process, for every pipeline that runs on Spark (``PUHUI_ENGINE=spark``).

PySpark is an optional extra (``pip install 'puhui[spark]'``) and needs Java 17 or later;
it is imported only when a session is asked for, and a missing piece is a one-line
:class:`~puhui.errors.PuhuiError` rather than a traceback.

The session is tuned for one small machine unless the settings say otherwise:

* ``local[2]`` (``PUHUI_SPARK_MASTER``) and a 4 GiB driver heap (``PUHUI_SPARK_DRIVER_MEMORY``;
  in local mode the driver runs everything, and it leaves room for the rest of the box);
* 4 shuffle partitions: Spark's default of 200 turns a small delivery into hundreds of tiny
  tasks and files;
* no web UI and no console progress bar (the CLI draws its own);
* session time zone UTC, so timestamps do not depend on the machine;
* ANSI SQL mode on, as Spark 4 has it by default: an overflow or a bad cast is an error,
  never a silent NULL or a wrapped number. SQL that parses untrusted text uses the ``try_``
  functions (see :data:`puhui.ingest.checks.SPARK`);
* dates and timestamps written to and read from Parquet as they are (proleptic Gregorian,
  like DuckDB), without the Julian rebasing Spark 2 needed for dates before 1582;
* its own catalog directory and a quiet log (errors only) under the system's temporary
  directory, so running ``puhui`` leaves no ``spark-warehouse/`` or log noise in the current
  directory.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from puhui.errors import PuhuiError
from puhui.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Settings every session gets, whatever the master.
SESSION_CONFIG: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
}

#: Log4j 2 configuration of the driver: errors only, to stderr. PySpark counts as a shell,
#: whose level Spark takes from its gateway's logger (else it announces WARN on each start).
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""

#: PySpark's own Python loggers, which print every failed query as JSON (with its SQL text)
#: even when the caller handles the error.
_QUERY_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")

_session: SparkSession | None = None


def _scratch_dir() -> Path:
    """A per-user directory for the session's catalog and log configuration."""
    directory = Path(tempfile.gettempdir()) / f"puhui-spark-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


def spark_session(settings: Settings | None = None) -> SparkSession:
    """The process's Spark session, started on first use with ``settings`` (else the env).

    Later calls return the same session whatever ``settings`` they pass: a JVM's master and
    memory cannot change once it runs. :func:`stop_spark_session` ends it. Temporary views
    and functions live in the session, so every user of it shares them.
    """
    global _session
    # A session stopped elsewhere (``session.stop()``) has lost its JVM context: replace it.
    if _session is not None and getattr(_session.sparkContext, "_jsc", None) is not None:
        return _session
    try:
        from pyspark.logger import PySparkLogger
        from pyspark.sql import SparkSession
    except ImportError:
        raise PuhuiError(
            "Spark 引擎需要 pyspark：请安装 pip install 'puhui[spark]'",
            "the Spark engine needs pyspark: pip install 'puhui[spark]'",
        ) from None
    cfg = settings or Settings()
    scratch = _scratch_dir()
    log_config = scratch / "log4j2.properties"
    log_config.write_text(_LOG4J2, encoding="utf-8")
    builder = (
        SparkSession.builder.master(cfg.spark_master)
        .appName("puhui")
        .config("spark.driver.memory", cfg.spark_driver_memory)
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log_config}")
        .config("spark.sql.warehouse.dir", str(scratch / "catalog"))
    )
    if cfg.spark_master.startswith("local"):
        # Local mode talks to itself only: no dependence on the host name resolving.
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config(
            "spark.driver.host", "127.0.0.1"
        )
    for key, value in SESSION_CONFIG.items():
        builder = builder.config(key, value)
    # Splink's string-similarity functions (jaro_winkler …), for linking on Spark.
    from splink.backends.spark import similarity_jar_location

    builder = builder.config("spark.jars", similarity_jar_location())
    # PySpark warns (on first use of its pandas/Arrow bridge) that pandas 3 is not fully
    # supported; the pipelines hand data to Spark as Arrow, never as pandas, and the Spark
    # tests cover that path.
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    try:
        session = builder.getOrCreate()
    except Exception as error:
        raise PuhuiError(
            f"Spark 无法启动（需要 Java 17 或更高版本）：{type(error).__name__}",
            f"Spark could not start (it needs Java 17 or later): {type(error).__name__}",
        ) from error
    session.sparkContext.setLogLevel("ERROR")
    # Splink checkpoints its working tables to cut long query plans.
    session.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))
    for name in _QUERY_LOGGERS:
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    _session = session
    return session


def stop_spark_session() -> None:
    """Stop the process's Spark session, if one runs (the next call starts a new one)."""
    global _session
    if _session is not None:
        _session.stop()
        _session = None
