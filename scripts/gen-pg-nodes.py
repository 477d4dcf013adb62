#!/usr/bin/env python3
"""gen-pg-nodes.py: writes the node table src/parse/nodes.c walks.

phasegate reads libpg_query's raw parse trees (PostgreSQL's own Node
structs) directly instead of asking libpg_query for JSON and reading the JSON
back. For that it needs, for every parse node, its fields in declaration
order with their C types. This script reads them from the PostgreSQL 15
server headers (Debian's postgresql-server-dev-15) and writes C: one
enum-to-name function per enum, one field table per node struct (offsets come
from offsetof, so the compiler checks every name against the headers), and a
table indexed by NodeTag. How each C type is written follows libpg_query's
JSON output, which tests/test_nodes.c checks tree for tree.

Token offsets ("location" fields) are left out: no reader of trees uses
them, and they are about a third of a tree's nodes.

Two things come from libpg_query itself rather than from the server
headers: enum values (libpg_query reorders some enums, LimitOption for one;
its pg_query.proto lists every enum in the library's C order, after an
UNDEFINED = 0 the C enums do not have), and the one JSON quirk of
libpg_query 15-4.0.0 (an Integer's ival is written only when positive).

usage: gen-pg-nodes.py SERVER_INCLUDE_DIR PG_QUERY_PROTO OUT_FILE
"""
import re
import sys

NODE_HEADERS = ["nodes/parsenodes.h", "nodes/primnodes.h", "nodes/value.h"]
ENUM_HEADERS = NODE_HEADERS + ["nodes/nodes.h", "nodes/lockoptions.h"]

# C scalar types and how the walker reads them.
SCALARS = {
    "bool": "PGN_BOOL",
    "char": "PGN_CHAR",
    "int": "PGN_INT",
    "int32": "PGN_INT",
    "int16": "PGN_INT16",
    "AttrNumber": "PGN_INT16",
    "Oid": "PGN_UINT",
    "Index": "PGN_UINT",
    "bits32": "PGN_UINT",
    "SubTransactionId": "PGN_UINT",
    "uint32": "PGN_UINT",
    "uint64": "PGN_UINT64",
    "AclMode": "PGN_UINT64",
    "long": "PGN_LONG",
    "double": "PGN_FLOAT",
    "Cost": "PGN_FLOAT",
    "Cardinality": "PGN_FLOAT",
    "char *": "PGN_STRING",
    "const char *": "PGN_STRING",
    "Node *": "PGN_NODE",
    "Expr *": "PGN_NODE",
    "List *": "PGN_LIST",
    "Bitmapset *": "PGN_BITMAPSET",
}
# Fields libpg_query's JSON leaves out.
SKIPPED_TYPES = {"NodeTag", "Expr", "Datum"}


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def read(include_dir, header):
    with open(f"{include_dir}/{header}", encoding="utf-8") as f:
        return strip_comments(f.read())


def parse_enums(texts):
    enums = {}
    for text in texts:
        for m in re.finditer(r"typedef\s+enum\s+(\w+)?\s*\{(.*?)\}\s*(\w+)\s*;",
                             text, re.S):
            body = re.sub(r"#.*", "", m.group(2))
            names = []
            for item in body.split(","):
                item = item.strip()
                if item:
                    names.append(item.split("=")[0].strip())
            enums[m.group(3)] = (names, "=" in body)
    return enums


def parse_structs(texts):
    structs = []
    for text in texts:
        # "typedef struct X {...} X;" and "struct X {...};" (typedef'd
        # elsewhere, like PartitionBoundSpec).
        for m in re.finditer(
                r"(?:typedef\s+)?struct\s+(\w+)\s*\{(.*?)\}\s*(\w*)\s*;",
                text, re.S):
            name, body = m.group(3) or m.group(1), m.group(2)
            body = re.sub(r"#.*", "", body)
            fields = []
            for decl in body.split(";"):
                decl = " ".join(decl.split())
                if not decl:
                    continue
                fm = re.match(r"^(.*?)\s*(\**)\s*(\w+)\s*(\[[^\]]*\])?$", decl)
                if not fm:
                    raise SystemExit(f"cannot read field '{decl}' of {name}")
                ctype = fm.group(1).replace("struct ", "").strip()
                if fm.group(2):
                    ctype += " " + fm.group(2)
                fields.append((ctype, fm.group(3), fm.group(4)))
            structs.append((name, fields))
    return structs


def parse_proto_enums(path):
    """Enum name -> enumerator names in C order (value = index)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    enums = {}
    for m in re.finditer(r"\benum\s+(\w+)\s*\{(.*?)\}", text, re.S):
        values = re.findall(r"(\w+)\s*=\s*(\d+)\s*;", m.group(2))
        names = [n for n, v in sorted(values, key=lambda x: int(x[1]))
                 if int(v) > 0]
        if sorted(int(v) for _, v in values) == list(range(len(values))):
            enums[m.group(1)] = names  # else not a C enum's mirror (Token)
    return enums


def enum_cases(name, header_names, proto_enums, explicit):
    """The switch cases of one enum-to-name function."""
    if name in proto_enums and not explicit:
        names = proto_enums[name]
        return [f"\tcase {i}:\n\t\treturn \"{n}\";"
                for i, n in enumerate(names)]
    # Not in the proto, or values set by hand: the headers' values.
    seen = []
    for n in header_names:
        if n not in seen:
            seen.append(n)
    return [f"\tcase {n}:\n\t\treturn \"{n}\";" for n in seen]


def node_tags(include_dir):
    text = read(include_dir, "nodes/nodes.h")
    m = re.search(r"typedef\s+enum\s+NodeTag\s*\{(.*?)\}\s*NodeTag", text, re.S)
    return set(re.findall(r"\bT_(\w+)", m.group(1)))


def main():
    include_dir, proto_path, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
    proto_enums = parse_proto_enums(proto_path)
    tags = node_tags(include_dir)
    enums = parse_enums(read(include_dir, h) for h in ENUM_HEADERS)
    structs = parse_structs(read(include_dir, h) for h in NODE_HEADERS)
    # A_Const (a union inside) is written by nodes.c itself.
    nodes = {}
    for name, fields in structs:
        if name not in tags or not fields or name == "A_Const":
            continue
        first = fields[0][0]
        if first in ("NodeTag", "Expr") or first in tags:
            nodes[name] = fields
    used_enums = set()
    out = []
    tables = []
    for name, fields in nodes.items():
        rows = []
        for ctype, fname, array in fields:
            # Arrays, tags, embedded Expr headers, Datums: not in the JSON.
            # Token offsets: no reader uses them, so they are not built.
            if array or ctype in SKIPPED_TYPES or fname == "location":
                continue
            off = f"offsetof({name}, {fname})"
            if (name, fname) == ("Integer", "ival"):
                rows.append(f'{{"{fname}", PGN_POSITIVE_INT, {off}, 0, '
                            f'NULL}}')
            elif ctype in SCALARS:
                rows.append(f'{{"{fname}", {SCALARS[ctype]}, {off}, 0, NULL}}')
            elif ctype in enums:
                used_enums.add(ctype)
                rows.append(f'{{"{fname}", PGN_ENUM, {off}, 0, enum_{ctype}}}')
            elif ctype.endswith(" *") and ctype[:-2] in nodes:
                rows.append(f'{{"{fname}", PGN_SPECIFIC, {off}, '
                            f'T_{ctype[:-2]}, NULL}}')
            elif ctype in nodes:
                rows.append(f'{{"{fname}", PGN_EMBEDDED, {off}, T_{ctype}, '
                            f'NULL}}')
            else:
                raise SystemExit(f"{name}.{fname}: unknown type '{ctype}'")
        tables.append((name, rows))
    out.append("/* Generated by scripts/gen-pg-nodes.py from the PostgreSQL "
               "server headers: do not edit. */")
    for ename in sorted(used_enums):
        out.append(f"static const char *enum_{ename}(int v)\n{{")
        out.append("\tswitch (v) {")
        header_names, explicit = enums[ename]
        out.extend(enum_cases(ename, header_names, proto_enums, explicit))
        out.append("\t}\n\treturn NULL;\n}")
    for name, rows in tables:
        if rows:
            out.append(f"static const struct pgn_field fields_{name}[] = {{")
            out.extend(f"\t{r}," for r in rows)
            out.append("};")
    out.append("static const struct pgn_type pgn_types[] = {")
    for name, rows in tables:
        body = f"fields_{name}, {len(rows)}" if rows else "NULL, 0"
        out.append(f'\t[T_{name}] = {{"{name}", {body}}},')
    out.append("};")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(line for line in out if line != "") + "\n")


if __name__ == "__main__":
    main()
