"""``linli simulate``: realistic device traffic sent to a running Linli through its real ingestion paths only.

- ``plan``: the simulator file (demo devices with their secrets, credential refs, plates, visitor codes), written
  by the demo or by ``--setup`` (which re-keys the demo devices through the registry action);
- ``payloads``: vendor payloads (generic JSON, Hikvision ISAPI JSON/XML/multipart, Dahua upload, Frigate);
- ``scenarios``: the scenarios as timed shots (peaks, fire lane, bin, silent elderly, wristband, offline,
  malformed, vendor samples);
- ``runner``: HTTP and MQTT senders, pacing by ``--speed``, ``--duration`` and ``--count``, the summary.

The simulator writes nothing to the database itself (``--setup`` apart, through actions): everything it sends
goes through ``/api/v1/ingest/...`` or the MQTT broker, as a device's traffic would.
"""

from .plan import PlanError, build_plan, default_path, read_plan, setup, write_plan
from .runner import HttpSender, MqttSender, Summary, choose, plan_shots, run
from .scenarios import SCENARIOS

__all__ = ["SCENARIOS", "HttpSender", "MqttSender", "PlanError", "Summary", "build_plan", "choose", "default_path",
           "plan_shots", "read_plan", "run", "setup", "write_plan"]
