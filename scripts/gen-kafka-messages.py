#!/usr/bin/env python3
"""Generate Tributary's Kafka message types from Apache Kafka's JSON message definitions.

Reads `<spec>/<Name>Request.json` and `<Name>Response.json` for every API in `APIS` (Kafka's own
definitions from `clients/src/main/resources/common/message/`, vendored in
`../shared/kafka-spec/messages` relative to the repository root) and writes:

* `Sources/KafkaProtocol/Messages/<Name>.swift`: one public struct per request or response, with
  its nested structs, a memberwise initialiser with the JSON defaults, and `encode(into:version:)` /
  `init(from:version:)` written against the runtime in `Sources/KafkaProtocol/` (see
  `ByteBuffer+KafkaMessageFields.swift`);
* `Sources/KafkaProtocol/Messages/KafkaRequest.swift`: the `KafkaRequest` enum (one case per API)
  and the `KafkaAPIKey` -> type tables;
* `Tests/KafkaProtocolTests/Generated/MessageSamples.swift`: per message, `sample(version:)` filling
  every field present in that version, and probes that set a non-ignorable field in a version that
  lacks it (the encoder must refuse).

Usage:
    scripts/gen-kafka-messages.py            # (re)write the files
    scripts/gen-kafka-messages.py --check    # exit 1 and list the files that would change

The output depends only on the JSON files and this script (no timestamps, sorted iteration), so
running it twice gives no diff; `MessageGeneratorTests` runs `--check`.

Standard library only.
"""

import argparse
import json
import os
import re
import sys
import textwrap

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SPEC_DIR = os.path.join(REPO_ROOT, "..", "shared", "kafka-spec", "messages")
SOURCES_DIR = os.path.join("Sources", "KafkaProtocol", "Messages")
SAMPLES_FILE = os.path.join("Tests", "KafkaProtocolTests", "Generated", "MessageSamples.swift")
SCRIPT_NAME = "scripts/gen-kafka-messages.py"

# The APIs Tributary speaks, in API key order. `KafkaAPIKey` (hand-written) names the same set.
APIS = [
    ("Produce", "produce"),
    ("Fetch", "fetch"),
    ("ListOffsets", "listOffsets"),
    ("Metadata", "metadata"),
    ("OffsetCommit", "offsetCommit"),
    ("OffsetFetch", "offsetFetch"),
    ("FindCoordinator", "findCoordinator"),
    ("JoinGroup", "joinGroup"),
    ("Heartbeat", "heartbeat"),
    ("LeaveGroup", "leaveGroup"),
    ("SyncGroup", "syncGroup"),
    ("SaslHandshake", "saslHandshake"),
    ("ApiVersions", "apiVersions"),
    ("CreateTopics", "createTopics"),
    ("DeleteTopics", "deleteTopics"),
    ("InitProducerId", "initProducerId"),
    ("DescribeConfigs", "describeConfigs"),
    ("AlterConfigs", "alterConfigs"),
    ("SaslAuthenticate", "saslAuthenticate"),
]

# Kafka 4.0 additions on top of the vendored pre-4.0 snapshot (kafka-spec/README.md, "API table").
# Each override is applied only if the JSON does not already carry it (its top version is lower,
# the appended field is missing), so a newer spec drop makes the override a no-op rather than a
# duplicate. We keep every snapshot version, including those 4.0 removed (KIP-896): librdkafka
# 2.0.x and kafka-python 2.x still send them.
OVERRIDES = {
    # Kafka 4.0 (KIP-1102) adds Metadata v13. The request is unchanged from v12 ("Version 13
    # supports top-level error code in the response").
    "MetadataRequest": {
        "validVersions": "0-13",
        "comment": "Kafka 4.0 override (scripts/gen-kafka-messages.py): version 13 is the same as version 12; "
        "its response carries a top-level ErrorCode (KIP-1102).",
    },
    # MetadataResponse v13 gains a top-level `ErrorCode int16`, ignorable, as the LAST top-level
    # field (after ClusterAuthorizedOperations, which v13 does not carry). Placement confirmed
    # against apache/kafka trunk's MetadataResponse.json (as carried by the fork m1a2st/kafka at
    # commit 1f5e76b74fa39fbd7cb4e5ab3c77480ffdb95d35):
    #   { "name": "ErrorCode", "type": "int16", "versions": "13+", "ignorable": true,
    #     "about": "The top-level error code, or 0 if there was no error." }
    "MetadataResponse": {
        "validVersions": "0-13",
        "appendFields": [
            {
                "name": "ErrorCode",
                "type": "int16",
                "versions": "13+",
                "ignorable": True,
                "about": "The top-level error code, or 0 if there was no error.",
            }
        ],
        "comment": "Kafka 4.0 override (scripts/gen-kafka-messages.py): version 13 adds the top-level "
        "ErrorCode (KIP-1102), the last field of the response.",
    },
    # Kafka 4.0 adds Produce v12, the same as v11 (KIP-890 part 2 bumps it to signal TV2 support).
    "ProduceRequest": {
        "validVersions": "0-12",
        "comment": "Kafka 4.0 override (scripts/gen-kafka-messages.py): version 12 is the same as version 11.",
    },
    "ProduceResponse": {
        "validVersions": "0-12",
        "comment": "Kafka 4.0 override (scripts/gen-kafka-messages.py): version 12 is the same as version 11.",
    },
}

# Kafka JSON type -> (Swift type, wire size in bytes).
FIXED_TYPES = {
    "bool": ("Bool", 1),
    "int8": ("Int8", 1),
    "int16": ("Int16", 2),
    "uint16": ("UInt16", 2),
    "int32": ("Int32", 4),
    "uint32": ("UInt32", 4),
    "int64": ("Int64", 8),
    "float64": ("Double", 8),
    "uuid": ("KafkaUUID", 16),
}
INTEGER_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
SWIFT_KEYWORDS = set(
    "associatedtype class deinit enum extension fileprivate func import init inout internal let open "
    "operator private precedencegroup protocol public rethrows static struct subscript typealias var "
    "break case catch continue default defer do else fallthrough for guard if in repeat return throw "
    "switch where while Any as await false is nil self Self super throws true try".split()
)


class GeneratorError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# JSON reading


def strip_json_comments(text):
    """Removes `//` comments (outside strings) so a strict JSON parser accepts the file."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
            continue
        if c == '"':
            in_string = True
            out.append(c)
            i += 1
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "/":
            while i < n and text[i] != "\n":
                i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def leading_comments(text):
    """The `//` comment lines inside the top-level object before `"fields"`: the version history."""
    lines = []
    started = False
    for line in text.splitlines():
        stripped = line.strip()
        if not started:
            if stripped.startswith("{"):
                started = True
            continue
        if re.match(r'^\{\s*"name"', stripped):
            break  # the first field; comments between `"fields": [` and it still count
        if stripped.startswith("//"):
            lines.append(stripped[2:].rstrip()[1:] if stripped[2:3] == " " else stripped[2:].rstrip())
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def json_bool(value):
    return value is True or value == "true"


# ---------------------------------------------------------------------------------------------
# Version sets
#
# A version range is kept as a frozenset of the versions inside the message's valid range, which
# makes intersections and "present in all versions of this struct?" questions trivial.


def parse_versions(spec, valid):
    spec = spec.strip()
    if spec == "none":
        return frozenset()
    if spec.endswith("+"):
        low = int(spec[:-1])
        return frozenset(v for v in valid if v >= low)
    if "-" in spec:
        low, high = (int(x) for x in spec.split("-"))
        return frozenset(v for v in valid if low <= v <= high)
    return frozenset(v for v in valid if v == int(spec))


def format_versions(versions):
    """`3+`, `0-7`, `5`, or `0-2, 5+` for a set relative to the message's top version."""
    if not versions:
        return "none"
    items = sorted(versions)
    runs = []
    start = prev = items[0]
    for v in items[1:]:
        if v == prev + 1:
            prev = v
            continue
        runs.append((start, prev))
        start = prev = v
    runs.append((start, prev))
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)


def condition(subset, context):
    """A Swift condition on `version` that is true exactly for `subset`, given `version in context`.

    Returns the strings "true" or "false" when the answer does not depend on the version."""
    s = subset & context
    if s == context:
        return "true"
    if not s:
        return "false"
    low, high = min(s), max(s)
    if s == frozenset(v for v in context if low <= v <= high):
        parts = []
        if any(v < low for v in context):
            parts.append(f"version >= {low}")
        if any(v > high for v in context):
            parts.append(f"version <= {high}")
        return " && ".join(parts)
    return "[" + ", ".join(str(v) for v in sorted(s)) + "].contains(version)"


# ---------------------------------------------------------------------------------------------
# Model


def lower_camel(name):
    """`TopicId` -> `topicId`, `ThrottleTimeMs` -> `throttleTimeMs`, `timeoutMs` stays."""
    match = re.match(r"^([A-Z]+)(?=[A-Z][a-z]|$|[0-9])", name)
    if match and len(match.group(1)) > 1:
        result = match.group(1).lower() + name[len(match.group(1)):]
    else:
        result = name[:1].lower() + name[1:]
    if result in SWIFT_KEYWORDS:
        result = f"`{result}`"
    return result


class FieldType:
    def __init__(self, text):
        self.text = text
        if text.startswith("[]"):
            self.kind = "array"
            self.element = FieldType(text[2:])
            if self.element.kind == "array":
                raise GeneratorError(f"nested arrays are not supported: {text}")
        elif text in FIXED_TYPES or text in ("string", "bytes", "records"):
            self.kind = text
            self.element = None
        elif re.match(r"^[A-Z][A-Za-z0-9]*$", text):
            self.kind = "struct"
            self.element = None
        else:
            raise GeneratorError(f"unknown type {text}")

    @property
    def struct_name(self):
        if self.kind == "struct":
            return self.text
        if self.kind == "array" and self.element.kind == "struct":
            return self.element.text
        return None


class Field:
    def __init__(self, data, message, context):
        self.data = data
        self.message = message
        self.name = data["name"]
        self.swift = lower_camel(self.name)
        self.type = FieldType(data["type"])
        self.about = " ".join(data.get("about", "").split())
        valid = message.valid
        self.versions_text = data["versions"]
        self.versions = parse_versions(data["versions"], valid) & context
        self.nullable_text = data.get("nullableVersions")
        self.nullable = parse_versions(data.get("nullableVersions", "none"), valid) & self.versions
        self.ignorable = json_bool(data.get("ignorable", False))
        self.tag = data.get("tag")
        self.tagged_text = data.get("taggedVersions")
        if self.tag is not None:
            tagged = parse_versions(data["taggedVersions"], valid) & context
            if tagged != self.versions:
                raise GeneratorError(
                    f"{message.name}.{self.name}: taggedVersions must equal versions in this generator")
            self.tag = int(self.tag)
        self.flexible_override = None
        if "flexibleVersions" in data:
            self.flexible_override = parse_versions(data["flexibleVersions"], valid)
        self.default = data.get("default")
        self.struct = None  # filled in by Message
        if self.nullable and self.type.kind not in ("string", "bytes", "records", "array"):
            raise GeneratorError(f"{message.name}.{self.name}: nullable {self.type.text} is not supported")

    @property
    def optional(self):
        return bool(self.nullable) or self.type.kind == "records"

    @property
    def tagged(self):
        return self.tag is not None

    def swift_type(self, qualify=""):
        base = swift_base_type(self.type, qualify)
        return base + "?" if self.optional else base

    def default_expr(self, qualify=""):
        kind = self.type.kind
        d = self.default
        if self.optional and (d == "null" or (d is None and kind == "records")):
            return "nil"
        if d == "null":
            raise GeneratorError(f"{self.message.name}.{self.name}: default null on a non-nullable field")
        if kind in INTEGER_RANGES:
            value = int(str(d), 0) if d is not None else 0
            low, high = INTEGER_RANGES[kind]
            if not low <= value <= high:
                raise GeneratorError(f"{self.message.name}.{self.name}: default {d} out of range")
            return str(value)
        if kind == "bool":
            return "true" if json_bool(d) else "false"
        if kind == "float64":
            return repr(float(d)) if d is not None else "0.0"
        if kind == "string":
            return swift_string_literal(d if d is not None else "")
        if kind == "uuid":
            if d not in (None, "", "AAAAAAAAAAAAAAAAAAAAAA"):
                raise GeneratorError(f"{self.message.name}.{self.name}: uuid default {d} not supported")
            return ".zero"
        if kind in ("bytes", "records"):
            return "ByteBuffer()"
        if kind == "array":
            return "[]"
        if kind == "struct":
            return f"{qualify}{self.type.text}()"
        raise GeneratorError(f"no default for {kind}")

    def non_default_check(self, qualify):
        """A Swift expression, true when `self.<field>` differs from its default."""
        default = self.default_expr(qualify)
        if default == "nil":
            return f"self.{self.swift} != nil"
        if not self.optional:
            if self.type.kind == "array":
                return f"!self.{self.swift}.isEmpty"
            if self.type.kind in ("bytes", "records"):
                return f"self.{self.swift}.readableBytes != 0"
        return f"self.{self.swift} != {default}"

    def doc_lines(self):
        lines = []
        if self.about:
            lines.append(self.about)
            lines.append("")
        facts = [f"Versions: {self.versions_text}"]
        if self.nullable_text:
            facts.append(f"nullable: {self.nullable_text}")
        if self.tagged:
            facts.append(f"tagged: tag {self.tag}, versions {self.tagged_text}")
        if self.default is not None:
            facts.append(f"default: {self.default}")
        if self.ignorable:
            facts.append("ignorable")
        if self.data.get("flexibleVersions") is not None:
            facts.append(f"flexibleVersions: {self.data['flexibleVersions']}")
        lines.append(". ".join(facts[:1]) + ("; " + "; ".join(facts[1:]) if facts[1:] else "") + ".")
        return lines


def swift_base_type(field_type, qualify=""):
    if field_type.kind == "array":
        return "[" + swift_base_type(field_type.element, qualify) + "]"
    if field_type.kind in FIXED_TYPES:
        return FIXED_TYPES[field_type.kind][0]
    if field_type.kind == "string":
        return "String"
    if field_type.kind in ("bytes", "records"):
        return "ByteBuffer"
    if field_type.kind == "struct":
        return qualify + field_type.text
    raise GeneratorError(field_type.kind)


def swift_string_literal(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class StructDef:
    def __init__(self, name, about, exists, is_message):
        self.name = name
        self.about = about
        self.exists = exists
        self.is_message = is_message
        self.fields = []


class Message:
    def __init__(self, path):
        self.file_name = os.path.basename(path)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        data = json.loads(strip_json_comments(text))
        self.name = data["name"]
        self.comments = leading_comments(text)
        override = OVERRIDES.get(self.name)
        self.override_notes = []
        if override:
            # Raise the top version only; a newer JSON that already reaches it (or that dropped old
            # versions, as 4.0's files do) is taken as it is.
            json_low, json_high = (int(x) for x in data["validVersions"].split("-"))
            override_high = int(override["validVersions"].split("-")[1])
            if json_high < override_high:
                data["validVersions"] = f"{json_low}-{override_high}"
                self.override_notes.append(override["comment"])
            for extra in override.get("appendFields", []):
                if not any(f["name"] == extra["name"] and f["versions"] == extra["versions"] for f in data["fields"]):
                    data["fields"].append(dict(extra))
        self.kind = data["type"]
        if self.kind not in ("request", "response"):
            raise GeneratorError(f"{self.name}: type {self.kind} is not a request or response")
        self.api_key = int(data["apiKey"])
        low, high = (int(x) for x in data["validVersions"].split("-"))
        self.valid = frozenset(range(low, high + 1))
        self.low, self.high = low, high
        flexible = data.get("flexibleVersions", "none")
        self.first_flexible = None if flexible == "none" else int(flexible.rstrip("+"))
        self.flexible = parse_versions(flexible, self.valid)
        self.common = {c["name"]: c for c in data.get("commonStructs", [])}
        self.latest_unstable = json_bool(data.get("latestVersionUnstable", False))

        # Pass 1: where each struct exists (a common struct can be used by several fields).
        self.struct_exists = {}
        self.struct_order = []
        self.struct_about = {}
        self._scan(data["fields"], self.valid)
        # Pass 2: build the structs with their final version sets.
        self.structs = {}
        self.top = StructDef(self.name, None, self.valid, True)
        self.top.fields = self._build_fields(data["fields"], self.valid)
        self.nested = [self.structs[name] for name in self.struct_order]

    def _struct_fields_json(self, field_json):
        name = FieldType(field_json["type"]).struct_name
        if "fields" in field_json:
            return field_json["fields"]
        if name in self.common:
            return self.common[name]["fields"]
        raise GeneratorError(f"{self.name}: struct {name} has no definition")

    def _scan(self, fields, context):
        for f in fields:
            ftype = FieldType(f["type"])
            name = ftype.struct_name
            if name is None:
                continue
            versions = parse_versions(f["versions"], self.valid) & context
            if name not in self.struct_exists:
                if name == self.name:
                    raise GeneratorError(f"{self.name}: struct named like the message")
                self.struct_exists[name] = frozenset()
                self.struct_order.append(name)
                self.struct_about[name] = " ".join(f.get("about", "").split())
            elif "fields" in f and name not in self.common:
                raise GeneratorError(f"{self.name}: struct {name} defined twice")
            self.struct_exists[name] |= versions
            self._scan(self._struct_fields_json(f), versions)

    def _build_fields(self, fields, context):
        result = []
        seen = set()
        for f in fields:
            field = Field(f, self, context)
            if field.swift in seen:
                raise GeneratorError(f"{self.name}: duplicate field {field.swift}")
            seen.add(field.swift)
            name = field.type.struct_name
            if name is not None:
                if name not in self.structs:
                    exists = self.struct_exists[name]
                    struct = StructDef(name, self.struct_about[name], exists, False)
                    self.structs[name] = struct
                    struct.fields = self._build_fields(self._struct_fields_json(f), exists)
                field.struct = self.structs[name]
            result.append(field)
        tags = [f.tag for f in result if f.tagged]
        if len(tags) != len(set(tags)):
            raise GeneratorError(f"{self.name}: duplicate tags {tags}")
        return result

    @property
    def api_name(self):
        return self.name[: -len("Request")] if self.kind == "request" else self.name[: -len("Response")]

    def is_flexible(self, version):
        return version in self.flexible

    # Minimum wire sizes, used to bound array counts before reserving memory.

    def min_struct_size(self, struct, version):
        flexible = self.is_flexible(version)
        total = 1 if flexible else 0  # the tagged-field section's count
        for f in struct.fields:
            if version not in f.versions or f.tagged:
                continue
            total += self.min_field_size(f, f.type, version, flexible)
        return total

    def min_field_size(self, field, ftype, version, flexible):
        compact = flexible and (field is None or field.flexible_override is None or version in field.flexible_override)
        if ftype.kind in FIXED_TYPES:
            return FIXED_TYPES[ftype.kind][1]
        if ftype.kind == "string":
            return 1 if compact else 2
        if ftype.kind in ("bytes", "records", "array"):
            return 1 if compact else 4
        if ftype.kind == "struct":
            return self.min_struct_size(self.structs[ftype.text], version)
        raise GeneratorError(ftype.kind)

    def min_element_size(self, field):
        """(size over non-flexible versions, size over flexible versions); None where not present."""
        sizes = {False: None, True: None}
        for v in field.versions:
            flexible = self.is_flexible(v)
            element = field.type.element
            if element.kind == "struct":
                size = self.min_struct_size(self.structs[element.text], v)
            else:
                size = self.min_field_size(None, element, v, flexible)
            sizes[flexible] = size if sizes[flexible] is None else min(sizes[flexible], size)
        return sizes[False], sizes[True]


# ---------------------------------------------------------------------------------------------
# Swift emission: message types


HEADER = "// Generated by {script} from Apache Kafka's {json} — do not edit.\n"


def doc(lines, indent):
    """`///` lines; prose is wrapped at 110 columns, indented (quoted) lines are kept as they are."""
    out = []
    width = max(40, 110 - len(indent) - 4)
    for line in lines:
        if not line:
            out.append(f"{indent}///")
        elif line.startswith(" "):
            out.append(f"{indent}/// {line}".rstrip())
        else:
            out += [f"{indent}/// {part}" for part in textwrap.wrap(line, width, break_long_words=False)]
    return out


class StructEmitter:
    """Emits the declaration and the coding extension of one struct (message or nested)."""

    def __init__(self, message, struct):
        self.m = message
        self.s = struct
        self.qualify = "" if struct.is_message else ""
        flex = condition(message.flexible, struct.exists)
        self.flex_condition = flex
        self.flex_token = "flexible" if flex not in ("true", "false") else flex
        self.has_tagged_section = flex != "false"

    @property
    def swift_path(self):
        return self.m.name if self.s.is_message else f"{self.m.name}.{self.s.name}"

    def compact(self, field):
        if field.flexible_override is None:
            return self.flex_token
        return condition(self.m.flexible & field.flexible_override, field.versions) or "false"

    def nullable(self, field):
        return condition(field.nullable, field.versions)

    # Declaration

    def declaration(self, indent):
        m, s = self.m, self.s
        out = []
        if s.is_message:
            role = "request" if m.kind == "request" else "response"
            lines = [
                f"Kafka `{m.api_name}` {role} (API key {m.api_key}), versions {m.low}-{m.high}"
                + (f", flexible from version {m.first_flexible}." if m.first_flexible is not None else ", never flexible."),
                "",
                f"Generated from Apache Kafka's `clients/src/main/resources/common/message/{m.file_name}`;",
                "its version notes follow.",
            ]
            if m.comments:
                lines.append("")
                lines.extend(f"    {c}" if c else "" for c in m.comments)
            for note in m.override_notes:
                lines.append("")
                lines.append(note)
            if m.latest_unstable:
                lines.append("")
                lines.append(f"- Note: Kafka marks version {m.high} as unstable (`latestVersionUnstable`).")
            out += doc(lines, indent)
            protocol = "KafkaRequestMessage" if m.kind == "request" else "KafkaResponseMessage"
            out.append(f"{indent}public struct {s.name}: {protocol}, Hashable, Sendable {{")
            inner = indent + "    "
            if m.kind == "request":
                out += doc(["The response to this request."], inner)
                out.append(f"{inner}public typealias Response = {m.api_name}Response")
            out += doc(["The API this message belongs to."], inner)
            out.append(f"{inner}public static let apiKey: KafkaAPIKey = .{api_case(m.api_name)}")
            out += doc(["The versions this type can encode and decode."], inner)
            out.append(f"{inner}public static let validVersions: ClosedRange<Int16> = {m.low}...{m.high}")
            out += doc(["The first flexible version (KIP-482), or `nil`."], inner)
            first = "nil" if m.first_flexible is None else str(m.first_flexible)
            out.append(f"{inner}public static let firstFlexibleVersion: Int16? = {first}")
            out.append("")
        else:
            lines = [s.about or f"The `{s.name}` struct."]
            lines += ["", f"Present in versions {format_versions(s.exists)}."]
            out += doc(lines, indent)
            out.append(f"{indent}public struct {s.name}: Hashable, Sendable {{")
            inner = indent + "    "
        for f in s.fields:
            out += doc(f.doc_lines(), inner)
            out.append(f"{inner}public var {f.swift}: {f.swift_type()}")
        if self.has_tagged_section:
            out += doc(
                [
                    "Tagged fields not known to this implementation: kept on decode, written back on encode",
                    "(flexible versions only).",
                ],
                inner,
            )
            out.append(f"{inner}public var unknownTaggedFields: [KafkaTaggedField]")
        out.append("")
        # Memberwise initialiser.
        params = [f"{f.swift}: {f.swift_type()} = {f.default_expr()}" for f in s.fields]
        if self.has_tagged_section:
            params.append("unknownTaggedFields: [KafkaTaggedField] = []")
        out += doc(["Creates a value; every field defaults to its Kafka default."], inner)
        if params:
            out.append(f"{inner}public init(")
            for i, p in enumerate(params):
                out.append(f"{inner}    {p}" + ("," if i < len(params) - 1 else ""))
            out.append(f"{inner}) {{")
        else:
            out.append(f"{inner}public init() {{")
        for f in s.fields:
            bare = f.swift.strip("`")
            out.append(f"{inner}    self.{bare} = {f.swift}")
        if self.has_tagged_section:
            out.append(f"{inner}    self.unknownTaggedFields = unknownTaggedFields")
        out.append(f"{inner}}}")
        if s.is_message:
            out.append("")
            out += doc(
                [
                    "Appends the body in the wire format of `version`; on a throw nothing is appended.",
                    "",
                    "- Throws: `KafkaEncodingError` naming message, version and field.",
                ],
                inner,
            )
            out.append(f"{inner}public func encode(into buffer: inout ByteBuffer, version: Int16) throws(KafkaEncodingError) {{")
            out.append(f'{inner}    try buffer.writeKafkaMessage(self, version: version, name: "{m.name}")')
            out.append(f"{inner}}}")
            out.append("")
            out += doc(
                [
                    "Reads a body in the wire format of `version`; on a throw the reader index is put back.",
                    "",
                    "- Throws: `KafkaDecodingError` naming message, version and field path.",
                ],
                inner,
            )
            out.append(f"{inner}public init(from buffer: inout ByteBuffer, version: Int16) throws(KafkaDecodingError) {{")
            out.append(f'{inner}    self = try buffer.readKafkaMessage(version: version, name: "{m.name}")')
            out.append(f"{inner}}}")
            for nested in m.nested:
                out.append("")
                out += StructEmitter(m, nested).declaration(inner)
        out.append(f"{indent}}}")
        return out

    # Coding extension

    def coding_extension(self):
        m, s = self.m, self.s
        q = f"{m.name}."
        out = [f"extension {self.swift_path}: KafkaWireStruct {{"]
        # Decoding.
        body = []
        for f in s.fields:
            if f.tagged:
                continue
            present = condition(f.versions, s.exists)
            if present == "false":
                continue
            read = f"self.{f.swift} = {self.read_expr(f, 'buffer', self.compact(f))}"
            if present == "true":
                body.append(f"        {read}")
            else:
                body.append(f"        if {present} {{ {read} }}")
        if self.has_tagged_section:
            tagged = [f for f in s.fields if f.tagged and (f.versions & self.m.flexible)]
            section = []
            if not tagged:
                section.append("try buffer.readKafkaUnknownTaggedFields(into: &self.unknownTaggedFields)")
            else:
                section.append(
                    'try buffer.readKafkaTaggedFields(field: "taggedFields") { (tag, payload) throws(KafkaDecodingError) in')
                section.append("    switch tag {")
                for f in sorted(tagged, key=lambda f: f.tag):
                    when = condition(f.versions, s.exists & m.flexible)
                    where = "" if when == "true" else f" where {when}"
                    section.append(f"    case {f.tag}{where}:")
                    section.append(f"        self.{f.swift} = {self.read_expr(f, 'payload', 'true')}")
                section.append("    default:")
                section.append("        self.unknownTaggedFields.append(KafkaTaggedField(tag: tag, data: payload))")
                section.append("        return")
                section.append("    }")
                section.append('    try payload.checkKafkaTaggedPayloadConsumed(tag: tag, field: "taggedFields")')
                section.append("}")
            if self.flex_token == "flexible":
                body.append("        if flexible {")
                body += [f"            {line}" for line in section]
                body.append("        }")
            else:
                body += [f"        {line}" for line in section]
        out.append("    init(kafkaFieldsFrom buffer: inout ByteBuffer, version: Int16) throws(KafkaDecodingError) {")
        out.append("        self.init()")
        if self.flex_token == "flexible" and any("flexible" in line for line in body):
            out.append(f"        let flexible = {self.flex_condition}")
        out += body
        out.append("    }")
        out.append("")
        # Encoding.
        body = []
        absent_checks = []
        for f in s.fields:
            present = condition(f.versions, s.exists)
            if f.tagged:
                if present != "true" and not f.ignorable:
                    absent = condition(s.exists - f.versions, s.exists)
                    absent_checks.append(
                        f"        if {absent}, {f.non_default_check(q)} {{ "
                        f'throw KafkaEncodingError.fieldNotInVersion("{f.swift}", version: version) }}')
                continue
            write = self.write_stmt(f, "buffer", self.compact(f))
            if present == "true":
                body.append(f"        {write}")
                continue
            if present == "false":
                if not f.ignorable:
                    body.append(
                        f"        if {f.non_default_check(q)} {{ "
                        f'throw KafkaEncodingError.fieldNotInVersion("{f.swift}", version: version) }}')
                continue
            body.append(f"        if {present} {{")
            body.append(f"            {write}")
            if not f.ignorable:
                body.append(f"        }} else if {f.non_default_check(q)} {{")
                body.append(f'            throw KafkaEncodingError.fieldNotInVersion("{f.swift}", version: version)')
            body.append("        }")
        if self.has_tagged_section:
            tagged = [f for f in s.fields if f.tagged and (f.versions & self.m.flexible)]
            section = []
            if not tagged:
                section.append("try buffer.writeKafkaTaggedFieldSection(self.unknownTaggedFields)")
            else:
                section.append("var tagged = self.unknownTaggedFields")
                for f in sorted(tagged, key=lambda f: f.tag):
                    when = condition(f.versions, s.exists & m.flexible)
                    check = f.non_default_check(q)
                    cond = check if when == "true" else f"{when}, {check}"
                    section.append(f"if {cond} {{")
                    section.append("    var payload = ByteBuffer()")
                    section.append(f"    {self.write_stmt(f, 'payload', 'true')}")
                    section.append(f"    tagged.append(KafkaTaggedField(tag: {f.tag}, data: payload))")
                    section.append("}")
                section.append("try buffer.writeKafkaTaggedFieldSection(tagged)")
            if self.flex_token == "flexible":
                body.append("        if flexible {")
                body += [f"            {line}" for line in section]
                body.append("        } else if !self.unknownTaggedFields.isEmpty {")
                body.append("            throw KafkaEncodingError.taggedFieldsNotInVersion(version)")
                body.append("        }")
            else:
                body += [f"        {line}" for line in section]
        body += absent_checks
        out.append("    func encodeKafkaFields(into buffer: inout ByteBuffer, version: Int16) throws(KafkaEncodingError) {")
        if self.flex_token == "flexible" and any("flexible" in line for line in body):
            out.append(f"        let flexible = {self.flex_condition}")
        out += body
        out.append("    }")
        out.append("}")
        return out

    def read_expr(self, f, buf, compact):
        kind = f.type.kind
        name = f'field: "{f.swift}"'
        if kind in INTEGER_RANGES:
            return f"try {buf}.readKafkaInteger({name})"
        if kind == "bool":
            return f"try {buf}.readKafkaBool({name})"
        if kind == "float64":
            return f"try {buf}.readKafkaFloat64({name})"
        if kind == "uuid":
            return f"try {buf}.readKafkaUUID({name})"
        if kind in ("string", "bytes", "records"):
            noun = "String" if kind == "string" else "Bytes"
            if not f.optional:
                return f"try {buf}.readKafka{noun}(compact: {compact}, {name})"
            nullable = self.nullable(f)
            if nullable == "true":
                return f"try {buf}.readKafkaNullable{noun}(compact: {compact}, {name})"
            if nullable == "false":
                return f"try {buf}.readKafka{noun}(compact: {compact}, {name})"
            return f"try {buf}.readKafkaOptional{noun}Field(compact: {compact}, nullable: {nullable}, {name})"
        if kind == "array":
            nonflex, flex = self.m.min_element_size(f)
            size = self.size_expr(nonflex, flex, compact)
            if not f.optional:
                return (f"try {buf}.readKafkaArrayField(compact: {compact}, minimumElementSize: {size}, "
                        f"version: version, {name})")
            return (f"try {buf}.readKafkaOptionalArrayField(compact: {compact}, nullable: {self.nullable(f)}, "
                    f"minimumElementSize: {size}, version: version, {name})")
        if kind == "struct":
            return f"try {buf}.readKafkaStructField(version: version, {name})"
        raise GeneratorError(kind)

    @staticmethod
    def size_expr(nonflex, flex, compact):
        if compact == "true":
            return str(flex)
        if compact == "false":
            return str(nonflex)
        if nonflex is None or flex is None or nonflex == flex:
            return str(nonflex if flex is None else flex if nonflex is None else flex)
        return f"{compact} ? {flex} : {nonflex}"

    def write_stmt(self, f, buf, compact):
        kind = f.type.kind
        value = f"self.{f.swift}"
        name = f'field: "{f.swift}"'
        if kind in INTEGER_RANGES:
            return f"{buf}.writeInteger({value})"
        if kind == "bool":
            return f"{buf}.writeKafkaBool({value})"
        if kind == "float64":
            return f"{buf}.writeKafkaFloat64({value})"
        if kind == "uuid":
            return f"{buf}.writeKafkaUUID({value})"
        if kind in ("string", "bytes", "records"):
            noun = "String" if kind == "string" else "Bytes"
            if not f.optional:
                return f"try {buf}.writeKafka{noun}Field({value}, compact: {compact}, {name})"
            return (f"try {buf}.writeKafkaOptional{noun}Field({value}, compact: {compact}, "
                    f"nullable: {self.nullable(f)}, {name})")
        if kind == "array":
            if not f.optional:
                return f"try {buf}.writeKafkaArrayField({value}, compact: {compact}, version: version, {name})"
            return (f"try {buf}.writeKafkaOptionalArrayField({value}, compact: {compact}, "
                    f"nullable: {self.nullable(f)}, version: version, {name})")
        if kind == "struct":
            return f"try {buf}.writeKafkaStructField({value}, version: version, {name})"
        raise GeneratorError(kind)


def api_case(api_name):
    for name, case in APIS:
        if name == api_name:
            return case
    raise GeneratorError(api_name)


def emit_message_file(message):
    out = [HEADER.format(script=SCRIPT_NAME, json=message.file_name).rstrip("\n"), "", "public import NIOCore", ""]
    out += StructEmitter(message, message.top).declaration("")
    out.append("")
    out += StructEmitter(message, message.top).coding_extension()
    for nested in message.nested:
        out.append("")
        out += StructEmitter(message, nested).coding_extension()
    return "\n".join(out) + "\n"


def emit_request_enum(requests, responses):
    out = [
        f"// Generated by {SCRIPT_NAME} from Apache Kafka's message definitions — do not edit.",
        "",
        "public import NIOCore",
        "",
        "/// A decoded request of any API Tributary speaks: one case per API, wrapping the request body.",
        "///",
        "/// `KafkaRequest.decode(frame:)` produces it from one frame; the header comes alongside.",
        "/// Cases are `indirect` so the enum stays one pointer wide however large a request struct is.",
        "public indirect enum KafkaRequest: Hashable, Sendable {",
    ]
    for m in requests:
        out.append(f"    /// A `{m.api_name}` request (API key {m.api_key}).")
        out.append(f"    case {api_case(m.api_name)}({m.name})")
    out.append("")
    out.append("    /// The API of the wrapped request.")
    out.append("    public var apiKey: KafkaAPIKey {")
    out.append("        switch self {")
    for m in requests:
        case = api_case(m.api_name)
        out.append(f"        case .{case}: .{case}")
    out.append("        }")
    out.append("    }")
    out.append("")
    out.append("    /// The wrapped request body.")
    out.append("    public var message: any KafkaRequestMessage {")
    out.append("        switch self {")
    for m in requests:
        out.append(f"        case .{api_case(m.api_name)}(let request): request")
    out.append("        }")
    out.append("    }")
    out.append("")
    out.append("    /// Decodes the body of a request of API `apiKey` in `version`.")
    out.append("    static func decodeBody(")
    out.append("        apiKey: KafkaAPIKey, version: Int16, from buffer: inout ByteBuffer")
    out.append("    ) throws(KafkaDecodingError) -> KafkaRequest {")
    out.append("        switch apiKey {")
    for m in requests:
        case = api_case(m.api_name)
        out.append(f"        case .{case}: .{case}(try {m.name}(from: &buffer, version: version))")
    out.append("        }")
    out.append("    }")
    out.append("")
    out.append("    /// Encodes the body of the wrapped request in `version`.")
    out.append("    public func encode(into buffer: inout ByteBuffer, version: Int16) throws(KafkaEncodingError) {")
    out.append("        switch self {")
    for m in requests:
        out.append(f"        case .{api_case(m.api_name)}(let request): try request.encode(into: &buffer, version: version)")
    out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")
    out.append("extension KafkaAPIKey {")
    out.append("    /// The request type of this API.")
    out.append("    public var requestType: any KafkaRequestMessage.Type {")
    out.append("        switch self {")
    for m in requests:
        out.append(f"        case .{api_case(m.api_name)}: {m.name}.self")
    out.append("        }")
    out.append("    }")
    out.append("")
    out.append("    /// The response type of this API.")
    out.append("    public var responseType: any KafkaResponseMessage.Type {")
    out.append("        switch self {")
    for m in responses:
        out.append(f"        case .{api_case(m.api_name)}: {m.name}.self")
    out.append("        }")
    out.append("    }")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Swift emission: test samples


SAMPLE_CALLS = {
    "int8": "n.int8()",
    "int16": "n.int16()",
    "uint16": "n.uint16()",
    "int32": "n.int32()",
    "uint32": "n.uint32()",
    "int64": "n.int64()",
    "float64": "n.float64()",
    "uuid": "n.uuid()",
    "string": "n.string()",
    "bytes": "n.bytes()",
    "records": "n.records()",
}


def sample_value(message, f, version_expr):
    kind = f.type.kind
    if kind == "bool":
        return "false" if json_bool(f.default) else "true"
    if kind in SAMPLE_CALLS:
        return SAMPLE_CALLS[kind]
    if kind == "struct":
        return f"{message.name}.{f.type.text}.sample(version: {version_expr}, counter: &n)"
    if kind == "array":
        element = f.type.element
        if element.kind == "struct":
            one = f"{message.name}.{element.text}.sample(version: {version_expr}, counter: &n)"
        elif element.kind == "bool":
            one = "true"
        else:
            one = SAMPLE_CALLS[element.kind]
        return f"[{one}, {one}]"
    raise GeneratorError(kind)


def sample_is_null(f, version, ordinal):
    """Mirrors the generated sample: nullable fields are null in every other version."""
    return version in f.nullable and (version + ordinal) % 2 == 1


def emit_sample_struct(message, struct):
    path = message.name if struct.is_message else f"{message.name}.{struct.name}"
    out = [f"extension {path} {{"]
    out.append("    static func sample(version: Int16, counter n: inout SampleCounter) -> Self {")
    out.append("        var value = Self()")
    for ordinal, f in enumerate(struct.fields):
        present = condition(f.versions, struct.exists)
        if present == "false":
            continue
        value = sample_value(message, f, "version")
        nullable = condition(f.nullable, f.versions)
        if nullable == "false":
            stmt = [f"value.{f.swift} = {value}"]
        else:
            null_test = f"(Int(version) + {ordinal}) % 2 == 1"
            if nullable != "true":
                null_test = f"{nullable} && {null_test}"
            stmt = [f"if {null_test} {{", f"    value.{f.swift} = nil", "} else {", f"    value.{f.swift} = {value}", "}"]
        if present == "true":
            out += [f"        {s}" for s in stmt]
        else:
            out.append(f"        if {present} {{")
            out += [f"            {s}" for s in stmt]
            out.append("        }")
    flex = condition(message.flexible, struct.exists)
    if flex == "true":
        out.append("        value.unknownTaggedFields = n.unknownTaggedFields()")
    elif flex != "false":
        out.append(f"        if {flex} {{ value.unknownTaggedFields = n.unknownTaggedFields() }}")
    out.append("        return value")
    out.append("    }")
    out.append("}")
    return out


def absent_field_probes(message):
    """Probes: (version, access path, JSON path, field, version the value is sampled at)."""
    probes = []

    def descendable(chain, version):
        # chain: list of (field, ordinal) from the top; each must be present and non-null at version.
        for f, ordinal in chain:
            if version not in f.versions or sample_is_null(f, version, ordinal):
                return False
        return True

    def walk(struct, chain):
        for ordinal, f in enumerate(struct.fields):
            missing = struct.exists - f.versions
            if not f.ignorable and missing and f.versions:
                candidates = sorted(
                    missing, key=lambda v: (min(abs(v - w) for w in f.versions), -v))
                for v in candidates:
                    if descendable(chain, v):
                        access = ""
                        for cf, _ in chain:
                            access += f".{cf.swift}" + ("!" if cf.optional else "")
                            if cf.type.kind == "array":
                                access += "[0]"
                        access += f".{f.swift}"
                        path = ".".join([cf.swift for cf, _ in chain] + [f.swift])
                        probes.append((v, access, path, f, min(f.versions)))
                        break
            if f.struct is not None and f.type.kind in ("array", "struct"):
                walk(f.struct, chain + [(f, ordinal)])

    walk(message.top, [])
    return probes


def emit_samples(messages):
    out = [
        f"// Generated by {SCRIPT_NAME} from Apache Kafka's message definitions — do not edit.",
        "",
        "import KafkaProtocol",
        "import NIOCore",
        "",
        "/// Every generated message type, requests and responses, in API key order.",
        "let allSampledMessageTypes: [any SampledMessage.Type] = [",
    ]
    for m in messages:
        out.append(f"    {m.name}.self,")
    out.append("]")
    out.append("")
    out.append("/// Every generated request type, in API key order.")
    out.append("let allSampledRequestTypes: [any (SampledMessage & KafkaRequestMessage).Type] = [")
    for m in messages:
        if m.kind == "request":
            out.append(f"    {m.name}.self,")
    out.append("]")
    for m in messages:
        out.append("")
        out.append(f"extension {m.name}: SampledMessage {{")
        out.append("    static func sample(version: Int16) -> Self {")
        out.append("        var n = SampleCounter()")
        out.append("        return Self.sample(version: version, counter: &n)")
        out.append("    }")
        out.append("")
        out.append("    static func absentFieldProbes() -> [AbsentFieldProbe<Self>] {")
        probes = absent_field_probes(m)
        if not probes:
            out.append("        []")
        else:
            out.append("        var probes: [AbsentFieldProbe<Self>] = []")
            for version, access, path, f, sample_version in probes:
                value = sample_value(m, f, str(sample_version))
                out.append("        do {")
                if "n." in value or "&n" in value:
                    out.append("            var n = SampleCounter()")
                out.append(f"            var message = Self.sample(version: {version})")
                out.append(f"            message{access} = {value}")
                out.append(f'            probes.append(AbsentFieldProbe(version: {version}, message: message, path: "{path}"))')
                out.append("        }")
            out.append("        return probes")
        out.append("    }")
        out.append("}")
        out.append("")
        out += emit_sample_struct(m, m.top)
        for nested in m.nested:
            out.append("")
            out += emit_sample_struct(m, nested)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Driver


def generate(spec_dir):
    """Returns {relative path: contents} for every generated file."""
    requests, responses = [], []
    for api, _ in APIS:
        for suffix, bucket in (("Request", requests), ("Response", responses)):
            path = os.path.join(spec_dir, f"{api}{suffix}.json")
            if not os.path.exists(path):
                raise GeneratorError(f"missing {path}")
            message = Message(path)
            if message.name != f"{api}{suffix}":
                raise GeneratorError(f"{path} defines {message.name}")
            bucket.append(message)
    files = {}
    messages = []
    for request, response in zip(requests, responses):
        if (request.low, request.high, request.api_key) != (response.low, response.high, response.api_key):
            raise GeneratorError(f"{request.name} and {response.name} disagree on key or versions")
        messages += [request, response]
    for m in messages:
        files[os.path.join(SOURCES_DIR, f"{m.name}.swift")] = emit_message_file(m)
    files[os.path.join(SOURCES_DIR, "KafkaRequest.swift")] = emit_request_enum(requests, responses)
    files[SAMPLES_FILE] = emit_samples(messages)
    return files


def generated_files_on_disk(root):
    """Files in the output directories that carry the generated-file header."""
    found = set()
    for directory in (SOURCES_DIR, os.path.dirname(SAMPLES_FILE)):
        full = os.path.join(root, directory)
        if not os.path.isdir(full):
            continue
        for name in sorted(os.listdir(full)):
            path = os.path.join(full, name)
            if name.endswith(".swift") and os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    if handle.readline().startswith(f"// Generated by {SCRIPT_NAME}"):
                        found.add(os.path.join(directory, name))
    return found


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", default=DEFAULT_SPEC_DIR, help="directory of Kafka's message JSON files")
    parser.add_argument("--root", default=REPO_ROOT, help="repository root to write into")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    args = parser.parse_args(argv)
    try:
        files = generate(args.spec)
    except GeneratorError as error:
        print(f"gen-kafka-messages: {error}", file=sys.stderr)
        return 2
    stale = sorted(generated_files_on_disk(args.root) - set(files))
    changed = []
    for relative, contents in sorted(files.items()):
        path = os.path.join(args.root, relative)
        current = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
        if current != contents:
            changed.append(relative)
            if not args.check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(contents)
    if not args.check:
        for relative in stale:
            os.remove(os.path.join(args.root, relative))
    if args.check:
        for relative in changed:
            print(f"out of date: {relative}")
        for relative in stale:
            print(f"stale: {relative}")
        return 1 if changed or stale else 0
    print(f"gen-kafka-messages: {len(files)} files, {len(changed)} written, {len(stale)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
