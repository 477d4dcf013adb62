#!/usr/bin/env python3
# tests/fuzz/seeds.py: writes the starting corpus of each fuzz target into
# OUT/<target>/ from the repository's fixtures and, when it is there, from
# ../shared/corpus (read at run time, never copied into the repository):
#   fuzz_sql     every fixture SQL file (with a "-- fuzz:" header naming its
#                layout when a .layout file says one), each fixture release
#                tree as one input of up to four files, and corpus SQL files
#   fuzz_config  every fixture YAML file and the repository's phasegate.yaml
#   fuzz_layout  each fixture and corpus migrations folder as the
#                "name\0content\0..." description fuzz_layout.c reads
#   fuzz_providers  Prometheus, Unleash and smoke-test response bodies as
#                the servers send them, each behind every mode byte
# plus the regression inputs of fixtures/fuzz/<target>/. Output is the same
# for the same tree.
#   seeds.py REPO OUT [--corpus DIR] [--corpus-limit N]
import argparse
import hashlib
import os
import sys

NEXT = b"\n-- fuzz:next\n"
TARGETS = ("fuzz_sql", "fuzz_config", "fuzz_layout", "fuzz_providers")
# What the servers answer (Prometheus' /api/v1/query, Unleash's admin
# feature, a health check), valid and broken.
PROVIDER_BODIES = [
    b'{"status":"success","data":{"resultType":"vector","result":'
    b'[{"metric":{},"value":[1700000000.1,"0.02"]}]}}',
    b'{"status":"success","data":{"resultType":"scalar",'
    b'"result":[1700000000.1,"NaN"]}}',
    b'{"status":"success","data":{"resultType":"vector","result":[]}}',
    b'{"status":"error","errorType":"bad_data","error":"parse error"}',
    b'{"name":"new-checkout","environments":[{"name":"production",'
    b'"enabled":true,"strategies":[{"name":"flexibleRollout",'
    b'"parameters":{"rollout":"25","stickiness":"default",'
    b'"groupId":"new-checkout"}}]}]}',
    b'{"status":"ok"}',
    b"<html><body>502 Bad Gateway</body></html>",
    b"",
]
LAYOUT_FLAG = {"dbmate": "dbmate", "diesel": "diesel", "flyway": "flyway",
               "golang-migrate": "golang", "prisma": "prisma"}
MAX_ENTRIES = 32
CONTENT_CAP = 512  # layout only needs names and the first lines


def walk(top):
    """Every file under top, sorted, as paths relative to top."""
    out = []
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            out.append(os.path.relpath(os.path.join(d, f), top))
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def put(out_dir, data):
    os.makedirs(out_dir, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)


def pack(entries):
    """The fuzz_layout description of [(name, bytes)]."""
    blob = b""
    for name, content in entries[:MAX_ENTRIES]:
        content = content[:CONTENT_CAP].replace(b"\0", b"")
        blob += name.encode() + b"\0" + content + b"\0"
    return blob


def layout_entries(flag, sql, toml):
    """One migration in a layout, for a fixture that names it."""
    if flag == "diesel":
        e = [("2024-01-01-000001_x/up.sql", sql),
             ("2024-01-01-000001_x/down.sql", b"")]
        if toml is not None:
            e.append(("2024-01-01-000001_x/metadata.toml", toml))
        return e
    if flag == "prisma":
        return [("20240101000001_x/migration.sql", sql)]
    if flag == "flyway":
        return [("V1__x.sql", sql), ("R__view.sql", b"SELECT 1;")]
    if flag == "golang":
        return [("1_x.up.sql", sql), ("1_x.down.sql", b"")]
    return [("20240101000001_x.sql", sql)]


def migration_folders(top):
    """Folders holding migrations: .sql files or migration subfolders."""
    found = []
    for d, dirs, files in os.walk(top):
        dirs.sort()
        if os.path.dirname(d) in found:
            continue  # a Prisma or Diesel migration of a folder found
        if any(f.endswith(".sql") for f in files) or any(
                os.path.exists(os.path.join(d, s, "up.sql")) or
                os.path.exists(os.path.join(d, s, "migration.sql"))
                for s in dirs):
            found.append(d)
    return sorted(found)


def folder_seeds(folder, out_dir, chunk):
    """A folder as layout descriptions of `chunk` top entries each."""
    tops = sorted(os.listdir(folder))
    for i in range(0, len(tops), chunk):
        entries = []
        for top in tops[i:i + chunk]:
            p = os.path.join(folder, top)
            if os.path.isdir(p):
                for rel in walk(p):
                    entries.append((top + "/" + rel,
                                    read(os.path.join(p, rel))))
            else:
                entries.append((top, read(p)))
        if entries:
            put(out_dir, pack(entries))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("out")
    ap.add_argument("--corpus")
    ap.add_argument("--corpus-limit", type=int, default=0,
                    help="at most N corpus SQL files (0: all)")
    a = ap.parse_args()
    fx = os.path.join(a.repo, "fixtures")
    sql_out = os.path.join(a.out, "fuzz_sql")
    cfg_out = os.path.join(a.out, "fuzz_config")
    lay_out = os.path.join(a.out, "fuzz_layout")

    for rel in walk(fx):
        path = os.path.join(fx, rel)
        if rel.startswith("fuzz" + os.sep):
            continue
        if rel.endswith(".sql"):
            sql = read(path)
            base = path[:-len(".sql")]
            flag = None
            if os.path.exists(base + ".layout"):
                flag = LAYOUT_FLAG.get(read(base + ".layout").decode()
                                       .strip())
            toml = (read(base + ".metadata.toml")
                    if os.path.exists(base + ".metadata.toml") else None)
            put(sql_out, sql)
            if flag:
                put(sql_out, b"-- fuzz: " + flag.encode() + b"\n" + sql)
                put(lay_out, pack(layout_entries(flag, sql, toml)))
        elif rel.endswith((".yaml", ".yml")):
            put(cfg_out, read(path))
    put(cfg_out, read(os.path.join(a.repo, "phasegate.yaml")))

    # Each migrations tree of the fixtures: one layout description, and
    # its first four files as one multi-file SQL input.
    for folder in migration_folders(fx):
        if os.sep + "fuzz" + os.sep in folder + os.sep:
            continue
        folder_seeds(folder, lay_out, MAX_ENTRIES)
        sqls = [r for r in walk(folder) if r.endswith(".sql")][:4]
        if len(sqls) > 1:
            body = NEXT.join(read(os.path.join(folder, r)) for r in sqls)
            put(sql_out, body)
            put(sql_out, b"-- fuzz: releases=1 all\n" + body)
            put(sql_out, b"-- fuzz: shipped=1 after\n" + body)

    if a.corpus and os.path.isdir(a.corpus):
        files = [r for r in walk(a.corpus) if r.endswith(".sql")]
        step = 1
        if a.corpus_limit and len(files) > a.corpus_limit:
            step = -(-len(files) // a.corpus_limit)
        for r in files[::step]:
            put(sql_out, read(os.path.join(a.corpus, r)))
        for folder in migration_folders(a.corpus):
            folder_seeds(folder, lay_out, 12 if step == 1 else 48)

    prov_out = os.path.join(a.out, "fuzz_providers")
    for body in PROVIDER_BODIES:
        for mode in range(16):
            put(prov_out, bytes([mode]) + body)

    for t in TARGETS:
        reg = os.path.join(fx, "fuzz", t)
        if os.path.isdir(reg):
            for rel in walk(reg):
                put(os.path.join(a.out, t), read(os.path.join(reg, rel)))
        os.makedirs(os.path.join(a.out, t), exist_ok=True)
    for t in TARGETS:
        print("%s: %d seeds" % (t, len(os.listdir(os.path.join(a.out, t)))),
              file=sys.stderr)


if __name__ == "__main__":
    main()
