#!/usr/bin/env bash
# resources.sh: the resource-bounds benchmark (issue 6, docs/benchmarks.md
# "Resource bounds"). It generates migrations and measures
# `phasegate lint --format json` on them with /usr/bin/time (wall time and
# peak RSS):
#   - one file of about 1, 10 and 50 MB (memory must grow at most linearly);
#   - 1k, 10k and 100k statements in one file;
#   - the same statements as 1k and 10k files of one statement each (a
#     folder with no config: each migration is its own release, linted in
#     the context of the ones before it).
# Each point is the median of PHG_RES_ROUNDS runs (default 3). Prints a
# markdown table and writes it to bench/results/resources-latest.md. A
# benchmark, not a test: it fails only when phasegate crashes (exit other
# than 0 or 1) or counts the wrong number of statements.
#   bench/resources.sh            (builds Release in build-rel)
#   PHG_BINARY=path bench/resources.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${PHG_RES_ROUNDS:-3}
RESULTS=$ROOT/bench/results

say() { printf 'resources: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

[[ -x /usr/bin/time ]] || die "GNU time is needed (scripts/install-deps.sh installs 'time')"
if [[ -n ${PHG_BINARY:-} ]]; then
	PHG=$PHG_BINARY
else
	say "building Release in build-rel"
	cmake -S "$ROOT" -B "$ROOT/build-rel" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$ROOT/build-rel" -j2 --target phasegate >/dev/null
	PHG=$ROOT/build-rel/phasegate
fi
[[ -x $PHG ]] || die "no phasegate binary at '$PHG'"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/phg-res.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# gen.py MODE N OUT: MODE "file" writes N statements into the file OUT,
# "bytes" writes statements into OUT until it holds N bytes, "files" writes
# N files of one statement each into the folder OUT, "inserts" writes N
# INSERTs into one table (a data migration: one long transaction in which
# no statement takes a lock worth reporting, the case where a rule that
# looks back over the transaction at every statement goes quadratic). The
# other statements cycle
# through four shapes on a new table every four statements (CREATE TABLE,
# ADD COLUMN, CREATE INDEX, UPDATE), so the schema model grows with the
# input as it does in a real history.
cat >"$WORK/gen.py" <<'EOF'
import os, sys

mode, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def stmt(i):
    t, k = i // 4, i % 4
    if k == 0:
        return ("CREATE TABLE t%d (id bigint PRIMARY KEY, name text NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now());\n" % t)
    if k == 1:
        return "ALTER TABLE t%d ADD COLUMN note text;\n" % t
    if k == 2:
        return "CREATE INDEX t%d_name_idx ON t%d (name);\n" % (t, t)
    return "UPDATE t%d SET note = name WHERE id < 1000;\n" % t

if mode == "inserts":
    with open(out, "w") as f:
        for i in range(n):
            f.write("INSERT INTO audit_log (id, body) VALUES (%d, 'x');\n" % i)
    print(n)
elif mode == "files":
    os.makedirs(out)
    for i in range(n):
        with open(os.path.join(out, "%07d_m.sql" % (i + 1)), "w") as f:
            f.write(stmt(i))
else:
    size = 0
    i = 0
    with open(out, "w") as f:
        while (mode == "file" and i < n) or (mode == "bytes" and size < n):
            s = stmt(i)
            f.write(s)
            size += len(s)
            i += 1
    print(i)
EOF

# measure LABEL EXPECTED_STATEMENTS PATH: median wall seconds and peak RSS.
ROWS=()
measure() {
	local label=$1 want=$2 path=$3 bytes files i
	local -a walls rsss
	bytes=$(du -sb "$path" | cut -f1)
	files=$(find "$path" -name '*.sql' | wc -l)
	for ((i = 0; i < ROUNDS; i++)); do
		local rc=0
		/usr/bin/time -f '%e %M' -o "$WORK/time" "$PHG" lint --format json "$path" \
			>"$WORK/out.json" 2>"$WORK/err" || rc=$?
		((rc <= 1)) || die "$label: phasegate exited $rc: $(head -c 500 "$WORK/err")"
		local got
		got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["statements"])' "$WORK/out.json")
		[[ $got == "$want" ]] || die "$label: $got statements, expected $want"
		# GNU time writes "Command exited with non-zero status 1" first.
		read -r w m < <(tail -n 1 "$WORK/time")
		walls+=("$w")
		rsss+=("$m")
	done
	local wall rss
	wall=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(((ROUNDS + 1) / 2))p")
	rss=$(printf '%s\n' "${rsss[@]}" | sort -g | sed -n "$(((ROUNDS + 1) / 2))p")
	local row
	row=$(awk -v l="$label" -v f="$files" -v n="$want" -v b="$bytes" -v w="$wall" -v r="$rss" \
		'BEGIN { printf "| %s | %d | %d | %.1f | %.2f | %d | %.1f |", l, f, n, b / 1048576, w, r / 1024, (n > 0 ? w * 1e6 / n : 0) }')
	say "$row"
	ROWS+=("$row")
}

say "generating inputs in $WORK"
for mb in 1 10 50; do
	mkdir -p "$WORK/size$mb"
	n=$(python3 "$WORK/gen.py" bytes $((mb * 1048576)) "$WORK/size$mb/0001_big.sql")
	echo "$n" >"$WORK/size$mb.n"
done
for n in 1000 10000 100000; do
	mkdir -p "$WORK/stmts$n"
	python3 "$WORK/gen.py" file "$n" "$WORK/stmts$n/0001_many.sql" >/dev/null
done
for n in 1000 10000; do
	python3 "$WORK/gen.py" files "$n" "$WORK/files$n"
done
for n in 10000 100000; do
	mkdir -p "$WORK/inserts$n"
	python3 "$WORK/gen.py" inserts "$n" "$WORK/inserts$n/0001_data.sql" >/dev/null
done

# An empty folder: the process's own start-up cost and RSS.
mkdir -p "$WORK/empty"
measure "empty folder" 0 "$WORK/empty"
for mb in 1 10 50; do
	measure "one file, $mb MB" "$(cat "$WORK/size$mb.n")" "$WORK/size$mb"
done
for n in 1000 10000 100000; do
	measure "$n statements, one file" "$n" "$WORK/stmts$n"
done
for n in 1000 10000; do
	measure "$n files" "$n" "$WORK/files$n"
done
for n in 10000 100000; do
	measure "$n INSERTs, one file" "$n" "$WORK/inserts$n"
done

mkdir -p "$RESULTS"
{
	echo "phasegate $("$PHG" --version 2>&1 | head -n 1), $(nproc) cores, median of $ROUNDS runs, $(date -u +%Y-%m-%d)"
	echo
	echo "| input | files | statements | MB | wall s | peak RSS MB | µs per statement |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${ROWS[@]}"
} | tee "$RESULTS/resources-latest.md"
