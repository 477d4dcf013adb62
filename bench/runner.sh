#!/usr/bin/env bash
# runner.sh: the runner benchmark. It starts one PostgreSQL 15 cluster in a
# temporary folder, generates 1,000 small migrations, and applies them to a
# fresh database per run with `phasegate migrate`, with dbmate 2.36.0 (the
# peer, same SQL in dbmate's layout) and with the floor — one psql session
# running every migration in its own BEGIN ... COMMIT from a generated file —
# in paired rounds whose order rotates. It then times `phasegate status` on a
# history of 10,000 rows against the floor of one query of that table
# (`psql -c 'SELECT * FROM phasegate.history'`). Medians, per-round ratios and
# the targets (docs/benchmarks.md) are printed and written to
# bench/results/runner-latest.md; the raw rounds to runner-rounds.tsv. Every run
# is checked (schema and history complete) before its time counts. The cluster
# is stopped and its folder removed at the end, also on failure or Ctrl-C.
#
# Environment: PHG_BENCH_ROUNDS (default 5, at least 3), PHG_BENCH_MIGRATIONS
# (default 1000), PHG_BENCH_STATUS_ROWS (default 10000), PHG_BENCH_BUILD (the
# build folder, default build-rel), PGBIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${PHG_BENCH_ROUNDS:-5}
N=${PHG_BENCH_MIGRATIONS:-1000}
NSTATUS=${PHG_BENCH_STATUS_ROWS:-10000}
BUILD=${PHG_BENCH_BUILD:-$ROOT/build-rel}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DBMATE_VERSION=2.36.0
# npm removes what a --no-save install does not name: bench/run.sh's peer is
# named too, so one benchmark's install never deletes the other's tool.
SQUAWK_VERSION=2.66.0
RESULTS=$ROOT/bench/results
# The server's settings, stated in the report: the same as the tests'.
PG_SETTINGS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

if [[ ! $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 3)); then die "PHG_BENCH_ROUNDS must be a number >= 3"; fi
if [[ ! $N =~ ^[0-9]+$ ]] || ((N < 10)); then die "PHG_BENCH_MIGRATIONS must be a number >= 10"; fi
if [[ ! $NSTATUS =~ ^[0-9]+$ ]] || ((NSTATUS < 10)); then die "PHG_BENCH_STATUS_ROWS must be a number >= 10"; fi
[[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] || die "PostgreSQL 15 not found in $PGBIN (apt-get install postgresql-15)"
command -v psql >/dev/null || die "psql not found"

# PostgreSQL refuses to run as root: as root, its programs run as `postgres`.
as_pg() {
	if ((EUID == 0)); then
		(cd /tmp && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# --- tools -----------------------------------------------------------------

if [[ ! -x /usr/bin/time ]]; then
	say "installing GNU time (apt-get)"
	SUDO=
	((EUID == 0)) || SUDO=sudo
	{ $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time; } >&2 ||
		die "cannot install the 'time' package"
fi

find_dbmate() {
	local b
	for b in "$ROOT"/bench/node_modules/@dbmate/*/bin/dbmate; do
		[[ -x $b ]] && { printf '%s\n' "$b"; return 0; }
	done
	return 1
}
# The native binary, not node's wrapper in .bin/, so node's start-up is not
# charged to dbmate.
DBMATE=$(find_dbmate || true)
if [[ -z $DBMATE || $("$DBMATE" --version 2>/dev/null) != "dbmate version $DBMATE_VERSION" ]]; then
	say "installing dbmate@$DBMATE_VERSION into bench/node_modules (npm)"
	npm install --prefix "$ROOT/bench" --no-save --no-audit --no-fund \
		"dbmate@$DBMATE_VERSION" "squawk-cli@$SQUAWK_VERSION" >&2
	DBMATE=$(find_dbmate) || die "dbmate binary not found after npm install"
fi
[[ $("$DBMATE" --version) == "dbmate version $DBMATE_VERSION" ]] || die "wrong dbmate: $("$DBMATE" --version)"

say "building Release in ${BUILD#"$ROOT"/}"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target phasegate >/dev/null
PHG=$BUILD/phasegate

# --- the cluster -------------------------------------------------------------

WORK=$(mktemp -d /tmp/phg-rbench.XXXXXX)
chmod 755 "$WORK" # the postgres user reaches its data folder through it
PGDIR=$WORK/pg
cleanup() {
	if [[ -f $PGDIR/data/postmaster.pid ]]; then
		as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { printf '%s\n' "$p"; return 0; }
	done
	return 1
}
PORT=$(free_port) || die "no free port"
mkdir -p "$PGDIR"
((EUID != 0)) || chown postgres:postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
# shellcheck disable=SC2086 # PG_SETTINGS is a list of options
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
	-o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 $PG_SETTINGS" start >/dev/null ||
	die "the server did not start: $(tail -n 20 "$PGDIR/server.log" 2>/dev/null)"
say "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT ($PG_SETTINGS)"

# Every tool connects the same way: TCP on 127.0.0.1, no SSL.
url() { printf 'postgres://postgres@127.0.0.1:%s/%s?sslmode=disable' "$PORT" "$1"; }
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
sql() { "${PSQL[@]}" -d "$1" -At -c "$2"; }

# --- the migrations ------------------------------------------------------------

# Migration i (1-based) of a set: every tenth creates a table, the nine after
# it each add a nullable column to it. Small DDL, as most migrations are; all
# expand, so the lint gate lets them through.
body() {
	local i=$1 g=$(((($1) - 1) / 10))
	if (((i - 1) % 10 == 0)); then
		printf 'CREATE TABLE bench_%d (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());\n' "$g"
	else
		printf 'ALTER TABLE bench_%d ADD COLUMN c_%d text;\n' "$g" "$i"
	fi
}

# A phasegate project of n numbered migrations in folder $1, its database
# taken from $PHG_BENCH_DB.
make_project() {
	local dir=$1 n=$2 i
	mkdir -p "$dir/migrations"
	# shellcheck disable=SC2016 # ${PHG_BENCH_DB} is for phasegate to expand
	printf 'regions:\n  - name: bench\n    database: ${PHG_BENCH_DB}\n' >"$dir/phasegate.yaml"
	for ((i = 1; i <= n; i++)); do
		body "$i" >"$(printf '%s/migrations/%05d_step_%d.sql' "$dir" "$i" "$i")"
	done
}

make_project "$WORK/phg" "$N"
mkdir -p "$WORK/dbmate/migrations"
: >"$WORK/floor.sql"
for ((i = 1; i <= N; i++)); do
	b=$(body "$i")
	printf -- '-- migrate:up\n%s\n\n-- migrate:down\n' "$b" >"$(printf '%s/dbmate/migrations/%05d_step_%d.sql' "$WORK" "$i" "$i")"
	printf 'BEGIN;\n%s\nCOMMIT;\n' "$b" >>"$WORK/floor.sql"
done
GROUPS_N=$(((N + 9) / 10))
say "$N migrations generated ($GROUPS_N tables, $((N - GROUPS_N)) added columns)"

# Whether database $1 holds every migration's effect.
check_schema() {
	local t c
	t=$(sql "$1" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bench\_%'")
	c=$(sql "$1" "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND column_name LIKE 'c\_%'")
	[[ $t == "$GROUPS_N" && $c == $((N - GROUPS_N)) ]] || die "$2: $t tables and $c columns in $1, expected $GROUPS_N and $((N - GROUPS_N))"
}

# --- timed runs ----------------------------------------------------------------

FMT='%e %U %S %M'
time_line() { grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$1" | tail -n 1; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }

# run_one ROUND TOOL: applies the migrations to a fresh database with TOOL,
# checks the result, appends "round tool wall cpu rss_kb" to rounds.tsv.
run_one() {
	local r=$1 tool=$2 db="rb_$1_$2" rc=0 t0 t1 tl
	sql postgres "CREATE DATABASE $db" >/dev/null
	case $tool in
	phasegate)
		t0=$EPOCHREALTIME
		(cd "$WORK/phg" && PHG_BENCH_DB=$(url "$db") /usr/bin/time -o "$WORK/t" -f "$FMT" \
			"$PHG" migrate >"$WORK/out" 2>"$WORK/err") || rc=$?
		t1=$EPOCHREALTIME
		;;
	dbmate)
		t0=$EPOCHREALTIME
		/usr/bin/time -o "$WORK/t" -f "$FMT" "$DBMATE" --url "$(url "$db")" \
			--migrations-dir "$WORK/dbmate/migrations" --no-dump-schema migrate \
			>"$WORK/out" 2>"$WORK/err" || rc=$?
		t1=$EPOCHREALTIME
		;;
	floor)
		t0=$EPOCHREALTIME
		/usr/bin/time -o "$WORK/t" -f "$FMT" "${PSQL[@]}" -d "$db" -f "$WORK/floor.sql" \
			>"$WORK/out" 2>"$WORK/err" || rc=$?
		t1=$EPOCHREALTIME
		;;
	esac
	((rc == 0)) || die "$tool failed (exit $rc): $(tail -c 600 "$WORK/err")"
	check_schema "$db" "$tool"
	case $tool in
	phasegate) [[ $(sql "$db" "SELECT count(*) FROM phasegate.history WHERE state = 'applied'") == "$N" ]] ||
		die "phasegate: history incomplete in $db" ;;
	dbmate) [[ $(sql "$db" "SELECT count(*) FROM schema_migrations") == "$N" ]] ||
		die "dbmate: schema_migrations incomplete in $db" ;;
	esac
	tl=$(time_line "$WORK/t")
	printf '%d\t%s\t%s\t%s\n' "$r" "$tool" "$(elapsed "$t0" "$t1")" \
		"$(awk '{ printf "%.2f\t%d", $2 + $3, $4 }' <<<"$tl")" >>"$WORK/rounds.tsv"
	sql postgres "DROP DATABASE $db" >/dev/null
}

LOAD_START=$(cut -d ' ' -f 1 /proc/loadavg)
awk -v l="$LOAD_START" 'BEGIN { exit !(l > 0.5) }' &&
	say "warning: load average $LOAD_START before timing; other work on this machine skews wall times"

# An untimed warm-up of each tool (page cache, the server's catalog caches).
: >"$WORK/rounds.tsv"
for tool in phasegate dbmate floor; do run_one 0 "$tool"; done
: >"$WORK/rounds.tsv"
TOOLS=(phasegate dbmate floor)
for ((r = 1; r <= ROUNDS; r++)); do
	order=()
	for k in 0 1 2; do order+=("${TOOLS[$(((k + r) % 3))]}"); done
	say "round $r/$ROUNDS: ${order[*]}"
	for tool in "${order[@]}"; do run_one "$r" "$tool"; done
done

# --- status on a long history -------------------------------------------------

say "status: applying $NSTATUS migrations for a history of $NSTATUS rows (untimed)"
make_project "$WORK/status" "$NSTATUS"
sql postgres "CREATE DATABASE rb_status" >/dev/null
export PHG_BENCH_DB
PHG_BENCH_DB=$(url rb_status)
t0=$EPOCHREALTIME
(cd "$WORK/status" && "$PHG" migrate >/dev/null 2>"$WORK/err") || die "status setup failed: $(tail -c 600 "$WORK/err")"
SETUP_S=$(elapsed "$t0" "$EPOCHREALTIME")
[[ $(sql rb_status "SELECT count(*) FROM phasegate.history") == "$NSTATUS" ]] || die "status setup: history incomplete"
(cd "$WORK/status" && "$PHG" status --format json >"$WORK/status.json") || die "phasegate status failed"
grep -q "\"applied\":$NSTATUS," "$WORK/status.json" || die "status does not show $NSTATUS applied"

: >"$WORK/status.tsv"
status_one() {
	local r=$1 tool=$2 t0 t1 rc=0
	t0=$EPOCHREALTIME
	case $tool in
	phasegate) (cd "$WORK/status" && /usr/bin/time -o "$WORK/t" -f "$FMT" "$PHG" status --format json \
		>"$WORK/out" 2>"$WORK/err") || rc=$? ;;
	floor) /usr/bin/time -o "$WORK/t" -f "$FMT" "${PSQL[@]}" -d rb_status \
		-c 'SELECT * FROM phasegate.history' >"$WORK/out" 2>"$WORK/err" || rc=$? ;;
	esac
	t1=$EPOCHREALTIME
	((rc == 0)) || die "status $tool failed (exit $rc): $(tail -c 600 "$WORK/err")"
	printf '%d\t%s\t%s\t%s\n' "$r" "$tool" "$(elapsed "$t0" "$t1")" \
		"$(awk '{ printf "%.2f\t%d", $2 + $3, $4 }' <<<"$(time_line "$WORK/t")")" >>"$WORK/status.tsv"
}
status_one 0 phasegate
status_one 0 floor
: >"$WORK/status.tsv"
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then
		status_one "$r" phasegate
		status_one "$r" floor
	else
		status_one "$r" floor
		status_one "$r" phasegate
	fi
done
LOAD_END=$(cut -d ' ' -f 1 /proc/loadavg)

# --- report --------------------------------------------------------------------

# median of the values on stdin
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# column c of tool t in file f, one value per line
vals() { awk -F '\t' -v t="$2" -v c="$3" '$2 == t { print $c }' "$1"; }
minmax() { vals "$1" "$2" 3 | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f–%.3f", lo, hi }'; }
# median over rounds of tool a's column c divided by tool b's in the same round
paired() {
	awk -F '\t' -v a="$2" -v b="$3" -v c="$4" '$2 == a { x[$1] = $c } $2 == b { y[$1] = $c }
		END { for (r in x) printf "%.4f\n", x[r] / y[r] }' "$1" | median
}
s3() { awk -v v="$1" 'BEGIN { printf "%.3f", v }'; }
ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v * 1000 }'; }
x() { awk -v v="$1" 'BEGIN { printf "%.2f×", v }'; }
mb() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : "**missed**" }'; }

R="$WORK/rounds.tsv"
S="$WORK/status.tsv"
R_DBMATE=$(paired "$R" phasegate dbmate 3)
R_FLOOR=$(paired "$R" phasegate floor 3)
R_STATUS=$(paired "$S" phasegate floor 3)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain -- src analyzers 2>/dev/null) ]] || COMMIT="$COMMIT (+ uncommitted changes in src/ or analyzers/)"
CPU_MODEL=$(grep -m 1 'model name' /proc/cpuinfo | sed 's/.*: //')

mkdir -p "$RESULTS"
{
	echo "# phasegate runner benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- machine: $(nproc) CPUs, $CPU_MODEL; $(uname -sr)"
	echo "- PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), one cluster, \`$PG_SETTINGS\`, TCP on 127.0.0.1, no SSL"
	echo "- phasegate $COMMIT (Release), dbmate $DBMATE_VERSION, psql $(psql --version | awk '{print $3}')"
	echo "- $N migrations ($GROUPS_N CREATE TABLE, $((N - GROUPS_N)) ALTER TABLE ADD COLUMN), a fresh database per run"
	echo "- $ROUNDS paired rounds, the order rotating; medians below"
	echo "- 1-minute load average: $LOAD_START before the rounds, $LOAD_END after"
	echo
	echo "| apply $N migrations | wall median (s) | wall range (s) | client CPU median (s) | client peak RSS (MB) |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	for t in floor phasegate dbmate; do
		case $t in
		floor) label="floor: psql -f, BEGIN…COMMIT each" ;;
		phasegate) label="phasegate migrate" ;;
		dbmate) label="dbmate $DBMATE_VERSION migrate --no-dump-schema" ;;
		esac
		echo "| $label | $(s3 "$(vals "$R" $t 3 | median)") | $(minmax "$R" $t) | $(vals "$R" $t 4 | median) | $(mb "$(vals "$R" $t 5 | median)") |"
	done
	echo
	echo "| status, history of $NSTATUS rows | wall median (ms) | wall range (s) | client CPU median (s) |"
	echo "| --- | ---: | ---: | ---: |"
	echo "| floor: psql -c 'SELECT * FROM phasegate.history' | $(ms "$(vals "$S" floor 3 | median)") | $(minmax "$S" floor) | $(vals "$S" floor 4 | median) |"
	echo "| phasegate status --format json | $(ms "$(vals "$S" phasegate 3 | median)") | $(minmax "$S" phasegate) | $(vals "$S" phasegate 4 | median) |"
	echo
	echo "| ratio (median of per-round ratios) | measured | target | |"
	echo "| --- | ---: | ---: | --- |"
	echo "| migrate: phasegate / dbmate, wall | $(x "$R_DBMATE") | ≤ 1.0× | $(verdict "$R_DBMATE" 1.0) |"
	echo "| migrate: phasegate / floor, wall | $(x "$R_FLOOR") | ≤ 1.5× | $(verdict "$R_FLOOR" 1.5) |"
	echo "| status: phasegate / floor, wall | $(x "$R_STATUS") | (none set) | |"
	echo
	echo "Setting up the status database (\`phasegate migrate\` of $NSTATUS migrations) took $(s3 "$SETUP_S") s."
} >"$RESULTS/runner-latest.md"
cat "$RESULTS/runner-latest.md"
{
	printf 'part\tround\ttool\twall_s\tcpu_s\trss_kb\n'
	sed 's/^/migrate\t/' "$R"
	sed 's/^/status\t/' "$S"
} >"$RESULTS/runner-rounds.tsv"
say "written: bench/results/runner-latest.md (raw rounds: bench/results/runner-rounds.tsv)"
