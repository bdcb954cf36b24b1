"""A strict reader of the Prometheus text exposition format 0.0.4, for the deploy e2e test."""
import math
import re

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _value(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError(f"{text!r} is not a number")
    return float(text)


def _unescape(raw, quotes):
    out, i = [], 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            i += 1
            nxt = raw[i] if i < len(raw) else ""
            if nxt == "\\":
                out.append("\\")
            elif nxt == "n":
                out.append("\n")
            elif nxt == '"' and quotes:
                out.append('"')
            else:
                raise ValueError(f"invalid escape \\{nxt}")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _sample(line):
    m = _NAME.match(line)
    if not m:
        raise ValueError("expected a metric name")
    name, i, labels = m.group(0), m.end(), {}
    if i < len(line) and line[i] == "{":
        i += 1
        while line[i] != "}":
            lm = _LABEL.match(line, i)
            if not lm or line[lm.end():lm.end() + 2] != '="':
                raise ValueError("bad label")
            key, i = lm.group(0), lm.end() + 2
            raw = []
            while line[i] != '"':
                if line[i] == "\\":
                    raw.append(line[i])
                    i += 1
                raw.append(line[i])
                i += 1
            i += 1
            if key in labels:
                raise ValueError(f"label {key} repeated")
            labels[key] = _unescape("".join(raw), True)
            if line[i] == ",":
                i += 1
            elif line[i] != "}":
                raise ValueError("expected , or }")
        i += 1
    if line[i:i + 1] != " ":
        raise ValueError("expected one space before the value")
    parts = line[i + 1:].split(" ")
    if len(parts) > 2 or (len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1])):
        raise ValueError("bad value or timestamp")
    return name, labels, _value(parts[0])


def parse_exposition(text):
    """Returns ({family: {"type", "help", "samples": [(name, labels, value)]}}, error or None)."""
    families, current, closed, seen = {}, None, set(), set()
    try:
        if text and not text.endswith("\n"):
            raise ValueError("no final newline")
        for n, line in enumerate(text.split("\n")[:-1], 1):
            try:
                if not line:
                    continue
                if line.startswith("# HELP ") or line.startswith("# TYPE "):
                    name, _, rest = line[7:].partition(" ")
                    if not _NAME.fullmatch(name):
                        raise ValueError(f"bad name {name!r}")
                    if line.startswith("# HELP "):
                        families.setdefault(name, {"type": None, "help": None, "samples": []})["help"] = _unescape(rest, False)
                        continue
                    if rest not in _TYPES:
                        raise ValueError(f"unknown type {rest!r}")
                    fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
                    if fam["type"] or fam["samples"]:
                        raise ValueError(f"TYPE for {name} repeated or after its samples")
                    fam["type"] = rest
                    if current:
                        closed.add(current)
                    current = name
                    continue
                if line.startswith("#"):
                    continue
                name, labels, value = _sample(line)
                base = name
                if current and families[current]["type"] == "histogram":
                    for suffix in ("_bucket", "_sum", "_count"):
                        if name == current + suffix:
                            base = current
                if base != current:
                    raise ValueError(f"sample {name} outside its family (no TYPE, or not contiguous)")
                key = (name, tuple(sorted(labels.items())))
                if key in seen:
                    raise ValueError(f"duplicate series {name}{labels}")
                seen.add(key)
                if families[current]["type"] == "counter" and not value >= 0:
                    raise ValueError(f"counter {name} is {value}")
                families[current]["samples"].append((name, labels, value))
            except (ValueError, IndexError) as e:
                raise ValueError(f"line {n}: {e}") from None
        for name, fam in families.items():
            if fam["type"] != "histogram":
                continue
            groups = {}
            for s, labels, value in fam["samples"]:
                rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
                if s == name + "_bucket":
                    g["buckets"].append((_value(labels["le"]), value))
                elif s == name + "_sum":
                    g["sum"] = value
                else:
                    g["count"] = value
            for g in groups.values():
                les = [b[0] for b in g["buckets"]]
                counts = [b[1] for b in g["buckets"]]
                if les != sorted(les) or counts != sorted(counts) or not les or les[-1] != math.inf:
                    raise ValueError(f"{name}: buckets not cumulative or no +Inf")
                if g["count"] != counts[-1] or g["sum"] is None:
                    raise ValueError(f"{name}: _count differs from +Inf bucket or no _sum")
    except ValueError as e:
        return families, str(e)
    return families, None
