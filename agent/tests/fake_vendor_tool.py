"""A stand-in for a firm's vendor tool, driven by CommandDriver in test_command_driver.py.

Usage: fake_vendor_tool.py MODE [ARG]. Reads one JSON request on stdin and, when FAKE_VENDOR_LOG
is set, appends it there with its own argv, so tests can see what the tool was given.
"""

import json
import os
import subprocess
import sys
import time

DEVICES = {"1-1.4.2": "537100494968", "1-2": "539912237528"}  # slot → device number

mode, arg = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
request = json.loads(sys.stdin.read())
if os.environ.get("FAKE_VENDOR_LOG"):
    with open(os.environ["FAKE_VENDOR_LOG"], "a") as log:
        log.write(json.dumps({"request": request, "argv": sys.argv}) + "\n")
passwords = f"{request['certificate_password']} {request['device_password']}"


def answer(**fields):
    print(json.dumps(fields))
    sys.exit(0)


if mode == "lists":  # a bridge to devices the agent's USB bus does not see
    if request["op"] == "list":
        answer(
            ok=True,
            devices=[
                {"slot": "cab-1:3", "kind": "tax_disk", "device_number": "661100000009"},
                {"slot": "cab-1:4", "kind": "ukey", "device_number": None},
            ],
        )
    answer(ok=True, monitoring={"device_number": request["device_number"], "kpjzsj": "2026-12-15"})
if mode == "ok" or (mode == "slow" and request["op"] == "identify"):
    number = request["device_number"] or DEVICES.get(request["slot"])
    if number is None:
        answer(ok=False, error_code="DEVICE_NOT_STARTED", message="设备未开启")
    invoices = [{"type": "026", "code": "031260000001", "number": "00000042", "amount": "100.00"}]
    answer(
        ok=True,
        already_done=False,
        monitoring={"device_number": number, "kpjzsj": "2026-12-15"},
        **({"invoices": invoices} if request["op"] == "query_invoices" else {}),
    )
if mode == "slow":  # operations take ARG seconds
    time.sleep(float(arg))
    answer(ok=True, monitoring={"device_number": request["device_number"], "clear_count": 5})
if mode == "error":
    answer(ok=False, error_code=arg, raw_code="0x0963c3", message="vendor message", monitoring={"cert_tries_left": 3})
if mode == "raw":
    answer(ok=False, raw_code=arg, message="vendor message")
if mode == "message":  # only a Chinese message, as a vendor tool shows it
    answer(ok=False, message=arg)
if mode == "repeat":
    answer(ok=True, already_done=True, raw_code=arg, monitoring={"clear_count": 4})
if mode == "hang":  # starts a helper of its own, as vendor tools do, then never answers
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(arg, "w") as pid_file:
        pid_file.write(str(helper.pid))
    time.sleep(60)
if mode == "garbage":
    print("Connecting to device... done")
    sys.exit(0)
if mode == "crash":
    print("starting", file=sys.stderr)
    print(f"fatal: cannot open device with {passwords}", file=sys.stderr)
    sys.exit(3)
if mode == "leak":
    print(f"debug: using {passwords}", file=sys.stderr)
    answer(ok=False, raw_code="0x0963c2", message=f"证书口令 {passwords} 错误")
sys.exit(f"unknown mode {mode}")
