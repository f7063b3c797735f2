# cython: language_level=3
# The device fingerprint: stable across runs and reboots, readable without root and inside a
# container. Each source that is missing on this machine is named in `missing` and replaced by
# a fixed marker, so a missing GPU or disk serial changes nothing from one run to the next.
import os
import platform
import subprocess
import sys
import uuid
from pathlib import Path

from azaion import constants
from azaion.security cimport hardware_hash

cdef str UNKNOWN = "unknown"


cdef str read_text(str path):
    try:
        return Path(path).read_text(errors="replace").strip()
    except OSError:
        return ""


cdef str run(list command):
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


cdef str persistent_id():
    # Last resort for images without /etc/machine-id: an id created once and kept in the
    # user's data directory, stable for as long as that directory is.
    import platformdirs

    path = Path(platformdirs.user_data_dir("azaion", appauthor=False)) / "machine-id"
    value = read_text(str(path))
    if len(value) == 32:
        return value
    value = uuid.uuid4().hex
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".machine-id.{os.getpid()}")
        tmp.write_text(value)
        os.replace(tmp, path)
    except OSError:
        return UNKNOWN
    return read_text(str(path)) or value


cdef dict linux_sources():
    cpu = ""
    for line in read_text("/proc/cpuinfo").splitlines():
        if line.lower().startswith(("model name", "hardware", "cpu model")):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = ""
    for line in read_text("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            # Rounded to GiB: the kernel reports a few KiB less after some updates.
            memory = f"{round(int(line.split()[1]) / 1048576)}GiB"
            break
    gpus = []
    for card in sorted(Path("/sys/class/drm").glob("card[0-9]")):
        ids = read_text(f"{card}/device/vendor") + ":" + read_text(f"{card}/device/device")
        if ids != ":":
            gpus.append(ids)
    disk = ""
    for block in sorted(Path("/sys/block").glob("*")):
        if block.name.startswith(("loop", "ram", "zram", "dm-", "sr")):
            continue
        disk = read_text(f"{block}/device/serial") or read_text(f"{block}/serial")
        if disk:
            break
    machine = read_text("/etc/machine-id") or read_text("/var/lib/dbus/machine-id")
    return {"cpu": cpu, "gpu": ",".join(gpus), "memory": memory, "disk": disk, "machine": machine}


cdef str cim(str cls, str field):
    return run(["powershell", "-NoProfile", "-Command",
                f"(Get-CimInstance -ClassName {cls} | Select-Object -First 1).{field}"])


cdef dict windows_sources():
    machine = ""
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography") as key:
            machine = str(winreg.QueryValueEx(key, "MachineGuid")[0])
    except OSError:
        pass

    return {
        "cpu": cim("Win32_Processor", "Name"),
        "gpu": cim("Win32_VideoController", "Name"),
        "memory": cim("Win32_ComputerSystem", "TotalPhysicalMemory"),
        "disk": cim("Win32_DiskDrive", "SerialNumber"),
        "machine": machine,
    }


cdef dict macos_sources():
    machine = ""
    for line in run(["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"]).splitlines():
        if "IOPlatformUUID" in line:
            machine = line.split("=", 1)[1].strip().strip('"')
    gpu = ""
    for line in run(["system_profiler", "SPDisplaysDataType"]).splitlines():
        if "Chipset Model" in line:
            gpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": run(["sysctl", "-n", "machdep.cpu.brand_string"]),
        "gpu": gpu,
        "memory": run(["sysctl", "-n", "hw.memsize"]),
        "disk": "",
        "machine": machine,
    }


cdef class HardwareService:

    def __init__(self):
        self.fingerprint = self.collect()
        self.hardware_hash = hardware_hash(self.fingerprint)

    cdef str collect(self):
        override = constants.hardware_fingerprint_override()
        if override:
            self.missing = ()
            return override
        if sys.platform.startswith("win"):
            sources = windows_sources()
        elif sys.platform == "darwin":
            sources = macos_sources()
        else:
            sources = linux_sources()
        if not sources.get("cpu"):
            sources["cpu"] = platform.processor() or platform.machine()
        self.missing = tuple(sorted(key for key, value in sources.items() if not value))
        if not sources["machine"]:
            sources["machine"] = persistent_id()
        return ". ".join(
            f"{label}: {sources[key] or UNKNOWN}"
            for key, label in (
                ("cpu", "CPU"),
                ("gpu", "GPU"),
                ("memory", "Memory"),
                ("disk", "DriveSerial"),
                ("machine", "MachineId"),
            )
        )

    def __repr__(self):
        return f"HardwareService(hardware_hash={self.hardware_hash[:12]!r}…, missing={self.missing!r})"
