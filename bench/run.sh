#!/usr/bin/env bash
# run.sh: the speed benchmark. It lints the forward migrations of the eight
# projects in the shared corpus with phasegate, parses the same files with
# bench_floor (libpg_query alone, the floor) and lints them with squawk 2.66.0
# (the peer), in paired, interleaved rounds, and reports median wall time, CPU
# time and peak RSS, the ratios phasegate/floor and phasegate/squawk, and the
# targets (docs/benchmarks.md). phasegate is timed two ways: one invocation
# given the eight folders (`phasegate lint DIR...`, each folder linted on its
# own; one process, as squawk and the floor are run: the targets are judged
# on it) and one invocation per folder (eight processes, shown beside it).
# The table is printed and written to bench/results/latest.md. Before timing
# anything it checks that phasegate does not crash on any folder (exit 0 or 1
# only), that the one invocation reports what the eight do, and that every
# tool saw every file. Exits 0 without measuring when the corpus is absent.
#
# Environment: PHG_CORPUS (default ../shared/corpus from the repo root),
# PHG_BENCH_ROUNDS (default 15, at least 5).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CORPUS=${PHG_CORPUS:-$ROOT/../shared/corpus}
ROUNDS=${PHG_BENCH_ROUNDS:-15}
SQUAWK_VERSION=2.66.0
BUILD=$ROOT/build-rel
RESULTS=$ROOT/bench/results

# Forward-migration folders, relative to the corpus.
PROJECTS=(
	LemmyNet__lemmy/migrations
	MarquezProject__marquez/api/src/main/resources/marquez/db/migration
	supabase__postgres/migrations/db/migrations
	ory__kratos/persistence/sql/migrations/sql
	openmeterio__openmeter/tools/migrate/migrations
	langfuse__langfuse/packages/shared/prisma/migrations
	rust-lang__crates.io/migrations
	triggerdotdev__trigger.dev/internal-packages/database/prisma/migrations
)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

if [[ ! -d $CORPUS ]]; then
	say "no corpus at '$CORPUS' (set PHG_CORPUS to measure); nothing to do"
	exit 0
fi
CORPUS=$(cd "$CORPUS" && pwd)
if [[ ! $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 5)); then
	die "PHG_BENCH_ROUNDS must be a number >= 5"
fi

# --- tools -----------------------------------------------------------------

if [[ ! -x /usr/bin/time ]]; then
	say "installing GNU time (apt-get)"
	SUDO=
	((EUID == 0)) || SUDO=sudo
	{ $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time; } >&2 ||
		die "cannot install the 'time' package"
fi

find_squawk() {
	local b
	for b in "$ROOT"/bench/node_modules/@squawk-cli/*/bin/squawk; do
		[[ -x $b ]] && { printf '%s\n' "$b"; return 0; }
	done
	return 1
}
# The native binary, not the node wrapper in .bin/, so node's start-up and
# memory are not charged to squawk.
SQUAWK=$(find_squawk || true)
if [[ -z $SQUAWK || $("$SQUAWK" --version 2>/dev/null) != "squawk $SQUAWK_VERSION" ]]; then
	say "installing squawk-cli@$SQUAWK_VERSION into bench/node_modules (npm)"
	npm install --prefix "$ROOT/bench" --no-save --no-audit --no-fund \
		"squawk-cli@$SQUAWK_VERSION" >&2
	SQUAWK=$(find_squawk) || die "squawk binary not found after npm install"
fi
[[ $("$SQUAWK" --version) == "squawk $SQUAWK_VERSION" ]] || die "wrong squawk: $("$SQUAWK" --version)"

say "building Release in build-rel"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target phasegate bench_floor >/dev/null
PHG=$BUILD/phasegate
FLOOR=$BUILD/bench/bench_floor

# Everything runs in an empty scratch folder, so no phasegate.yaml or
# .squawk.toml is picked up: every tool runs with its defaults.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/phg-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# --- the files ---------------------------------------------------------------

# Prints the forward migrations of one folder, one path per line, in byte
# order: what phasegate's discovery uses (docs/layouts.md). Subfolders are
# looked at one level down and only for up.sql / migration.sql; -type f leaves
# out Prisma folders that are named like files (…_x.sql/); down files and
# other databases' ory/popx files are not migrations.
forward_files() {
	local dir=$1 f rel base
	find "$dir" -mindepth 1 -maxdepth 2 -type f -name '*.sql' -print | LC_ALL=C sort |
		while IFS= read -r f; do
			rel=${f#"$dir"/}
			base=${f##*/}
			if [[ $rel == */* ]]; then
				[[ ${rel%%/*} == [0-9]* ]] || continue
				[[ $base == up.sql || $base == migration.sql ]] && printf '%s\n' "$f"
				continue
			fi
			case $base in
			.* | *.down.sql | *.mysql.* | *.sqlite3.* | *.sqlite.* | *.cockroach.*) ;;
			*.up.sql | V[0-9]*__*.sql | R__*.sql | [0-9]*.sql) printf '%s\n' "$f" ;;
			esac
		done
}

: >all.txt
declare -a NFILES
for i in "${!PROJECTS[@]}"; do
	dir=$CORPUS/${PROJECTS[$i]}
	[[ -d $dir ]] || die "corpus folder missing: $dir"
	forward_files "$dir" >"list.$i"
	NFILES[i]=$(wc -l <"list.$i")
	cat "list.$i" >>all.txt
done
TOTAL=$(wc -l <all.txt)
BYTES=$(tr '\n' '\0' <all.txt | du -cb --files0-from=- | tail -n 1 | cut -f 1)
say "$TOTAL forward migrations, $BYTES bytes, in ${#PROJECTS[@]} folders"

# --- checks (untimed; they also warm the page cache) -------------------------

CRASHES=()
for i in "${!PROJECTS[@]}"; do
	rc=0
	"$PHG" lint --format json "$CORPUS/${PROJECTS[$i]}" >"phg.$i.json" 2>"phg.$i.err" || rc=$?
	if ((rc > 1)); then
		culprit="(no single file reproduces it)"
		while IFS= read -r f; do
			frc=0
			"$PHG" lint --format json "$f" >/dev/null 2>&1 || frc=$?
			if ((frc > 1)); then culprit="first failing file: $f (exit $frc)"; break; fi
		done <"list.$i"
		CRASHES+=("${PROJECTS[$i]}: exit $rc ($(head -c 200 "phg.$i.err" | tr '\n' ' ')); $culprit")
		continue
	fi
	seen=$(grep -o '"summary":{"files":[0-9]*' "phg.$i.json" | grep -o '[0-9]*$' || true)
	[[ $seen == "${NFILES[$i]}" ]] ||
		die "phasegate saw ${seen:-?} files in ${PROJECTS[$i]}, the list has ${NFILES[$i]}"
done
if ((${#CRASHES[@]})); then
	for c in "${CRASHES[@]}"; do say "CRASH: $c"; done
	die "phasegate crashed (exit > 1) on ${#CRASHES[@]} folder(s); not timing a crashing build"
fi
say "phasegate: exit 0 or 1 on every folder, file counts match"

# The one invocation over all folders must report what the eight do.
DIRS=()
for i in "${!PROJECTS[@]}"; do DIRS+=("$CORPUS/${PROJECTS[$i]}"); done
summary_of() { grep -o '"summary":{"files":[0-9]*,"statements":[0-9]*,"errors":[0-9]*,"warnings":[0-9]*' "$@"; }
sum_counts() { summary_of "$@" | grep -o '[0-9]*' | awk '{ s[NR % 4] += $1 } END { print s[1], s[2], s[3], s[0] }'; }
rc=0
"$PHG" lint --format json "${DIRS[@]}" >phg.all.json 2>phg.all.err || rc=$?
((rc <= 1)) || die "phasegate exit $rc on all folders at once: $(head -c 300 phg.all.err)"
per_folder=$(for i in "${!PROJECTS[@]}"; do summary_of "phg.$i.json"; done | grep -o '[0-9]*' |
	awk '{ s[NR % 4] += $1 } END { print s[1], s[2], s[3], s[0] }')
[[ $(sum_counts phg.all.json) == "$per_folder" ]] ||
	die "one invocation reports files/statements/errors/warnings $(sum_counts phg.all.json), the eight folders $per_folder"
say "phasegate: one invocation over all folders reports what the eight do ($per_folder)"

"$FLOOR" <all.txt 2>floor.err >/dev/null
grep -q "^floor: $TOTAL files" floor.err || die "floor did not parse every file: $(cat floor.err)"

# --verbose logs one "checking file path" line per file it reads.
SQ_ARGS=(--reporter json)
XARGS=(xargs -a all.txt -d '\n' -s 1000000)
"${XARGS[@]}" "$SQUAWK" --verbose "${SQ_ARGS[@]}" >squawk.check 2>squawk.log || true
grep -q 'no config file found' squawk.log || die "squawk found a config file; run it from an empty folder"
sq_read=$(grep -c 'checking file path' squawk.log || true)
[[ $sq_read == "$TOTAL" ]] || die "squawk read $sq_read files, expected $TOTAL"
sq_files_with_findings=$({ grep -o '"file":"[^"]*"' squawk.check || true; } | sort -u | wc -l)
say "squawk: read all $TOTAL files, $sq_files_with_findings with findings"

# --- timed rounds ------------------------------------------------------------

FMT='%e %M %U %S'
LOAD_START=$(cut -d ' ' -f 1 /proc/loadavg)
awk -v l="$LOAD_START" 'BEGIN { exit !(l > 0.5) }' &&
	say "warning: load average $LOAD_START before timing; other work on this machine skews wall times"
# Last "elapsed maxrss user sys" line of a GNU time output file (it prefixes
# "Command exited with non-zero status N" when the command fails).
time_lines() { grep -E '^[0-9.]+ [0-9]+ [0-9.]+ [0-9.]+$' "$1"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
# CPU seconds (user + system, ms resolution) of every child the shell had
# waited for when it wrote file, a copy of bash's `times` output
# (getrusage of the children: a tool's own children, like squawk under
# xargs, count too). `times` itself must run in the timing shell, not in a
# $(...) subshell, and before any other child (awk) starts.
children_cpu() {
	awk 'END { for (i = 1; i <= NF; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); s += p[1] * 60 + p[2] }
		printf "%.4f", s }' "$1"
}

# Each tool runs twice per round. The first run is timed: wall clock from
# $EPOCHREALTIME and CPU from `times`, around the tool itself, so no
# measuring program is in the timed path (GNU time would add one exec per
# process, eight for phasegate and one for the others). The second run,
# under GNU time, gives peak RSS and GNU time's own %e.
#   timed VAR_WALL VAR_CPU cmd...   (stdin, stdout, stderr as the caller set)
timed() {
	local -n _wall=$1 _cpu=$2
	local t0 t1 c0 c1 rc=0
	shift 2
	times >times.before
	t0=$EPOCHREALTIME
	"$@" || rc=$?
	t1=$EPOCHREALTIME
	times >times.after
	c0=$(children_cpu times.before)
	c1=$(children_cpu times.after)
	_wall=$(elapsed "$t0" "$t1")
	_cpu=$(elapsed "$c0" "$c1")
	return $rc
}

# One row per round and tool: round tool wall_clock wall_%e cpu rss_kb
: >rounds.tsv
: >projects.tsv
for ((r = 1; r <= ROUNDS; r++)); do
	say "round $r/$ROUNDS"

	# floor: one process over all files
	rc=0
	timed w c "$FLOOR" <all.txt >/dev/null 2>floor.err || rc=$?
	((rc == 0)) || die "floor failed (exit $rc): $(cat floor.err)"
	/usr/bin/time -o floor.time -f "$FMT" "$FLOOR" <all.txt >/dev/null 2>floor.err
	time_lines floor.time | awk -v r="$r" -v w="$w" -v c="$c" \
		'{ printf "%d\tfloor\t%s\t%s\t%s\t%d\n", r, w, $1, c, $2 }' >>rounds.tsv

	# phasegate: one invocation given every folder (the targets' row)
	rc=0
	timed w c "$PHG" lint --format json "${DIRS[@]}" >phg.all.json 2>phg.all.err || rc=$?
	((rc <= 1)) || die "phasegate exit $rc on all folders: $(head -c 300 phg.all.err)"
	/usr/bin/time -o phg.all.time -f "$FMT" "$PHG" lint --format json "${DIRS[@]}" >/dev/null 2>&1 || true
	time_lines phg.all.time | awk -v r="$r" -v w="$w" -v c="$c" \
		'{ printf "%d\tphasegate\t%s\t%s\t%s\t%d\n", r, w, $1, c, $2 }' >>rounds.tsv

	# phasegate: one process per project folder; times summed, RSS max
	: >phg.time
	pw=0
	pc=0
	for i in "${!PROJECTS[@]}"; do
		rc=0
		timed w c "$PHG" lint --format json "$CORPUS/${PROJECTS[$i]}" \
			>"phg.$i.json" 2>"phg.$i.err" || rc=$?
		((rc <= 1)) || die "phasegate exit $rc on ${PROJECTS[$i]}: $(head -c 300 "phg.$i.err")"
		/usr/bin/time -o phg.one -f "$FMT" "$PHG" lint --format json "$CORPUS/${PROJECTS[$i]}" \
			>/dev/null 2>&1 || true
		pw=$(awk -v a="$pw" -v b="$w" 'BEGIN { printf "%.4f", a + b }')
		pc=$(awk -v a="$pc" -v b="$c" 'BEGIN { printf "%.4f", a + b }')
		time_lines phg.one | tee -a phg.time |
			awk -v r="$r" -v i="$i" -v w="$w" '{ printf "%d\t%d\t%s\t%d\n", r, i, w, $2 }' >>projects.tsv
	done
	awk -v r="$r" -v w="$pw" -v c="$pc" '{ e += $1; if ($2 > m) m = $2 }
		END { printf "%d\tper-folder\t%s\t%.2f\t%s\t%d\n", r, w, e, c, m }' phg.time >>rounds.tsv

	# squawk: all files; one process unless xargs has to split the list
	timed w c "${XARGS[@]}" "$SQUAWK" "${SQ_ARGS[@]}" >squawk.json 2>squawk.err || true # exits 1 on findings
	n=$({ grep -o '"file":"[^"]*"' squawk.json || true; } | sort -u | wc -l)
	[[ $n == "$sq_files_with_findings" ]] ||
		die "squawk reported on $n files this round, $sq_files_with_findings in the check run: $(head -c 300 squawk.err)"
	: >squawk.time
	"${XARGS[@]}" /usr/bin/time -a -o squawk.time -f "$FMT" "$SQUAWK" "${SQ_ARGS[@]}" \
		>/dev/null 2>&1 || true
	time_lines squawk.time | awk -v r="$r" -v w="$w" -v c="$c" \
		'{ e += $1; if ($2 > m) m = $2; p++ }
		END { printf "%d\tsquawk\t%s\t%.2f\t%s\t%d\n", r, w, e, c, m; print p > "squawk.procs" }' >>rounds.tsv
done
SQ_PROCS=$(cat squawk.procs)
LOAD_END=$(cut -d ' ' -f 1 /proc/loadavg)

# --- report --------------------------------------------------------------------

# median of column $2 of rows whose column $1 matches, from stdin "key value"
median() {
	awk -v k="$1" '$1 == k { print $2 }' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
col() { awk -F '\t' -v c="$1" '{ print $2, $c }' rounds.tsv; }
minmax() { awk -F '\t' -v k="$1" '$2 == k { if (!n++ || $3 < lo) lo = $3; if ($3 > hi) hi = $3 } END { printf "%.3f–%.3f", lo, hi }' rounds.tsv; }
# per-round ratio of tool A over tool B for column c, then its median
paired() {
	awk -F '\t' -v a="$1" -v b="$2" -v c="$3" '$2 == a { x[$1] = $c } $2 == b { y[$1] = $c }
		END { for (r in x) printf "r %.4f\n", x[r] / y[r] }' rounds.tsv | median r
}

declare -A WALL CPU RSS
for t in floor phasegate per-folder squawk; do
	WALL[$t]=$(col 3 | median "$t")
	CPU[$t]=$(col 5 | median "$t")
	RSS[$t]=$(col 6 | median "$t")
done
R_FLOOR=$(paired phasegate floor 3)
R_SQUAWK=$(paired phasegate squawk 3)
R_RSS=$(paired phasegate squawk 6)
R_FLOOR_E=$(paired phasegate floor 4)
R_FLOOR_CPU=$(paired phasegate floor 5)
R_SQUAWK_CPU=$(paired phasegate squawk 5)
R_SQUAWK_E=$(paired phasegate squawk 4)
P_FLOOR=$(paired per-folder floor 3)
P_SQUAWK=$(paired per-folder squawk 3)
P_RSS=$(paired per-folder squawk 6)
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : "**missed**" }'; }
x() { awk -v v="$1" 'BEGIN { printf "%.2f×", v }'; }
mb() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }'; }
s3() { awk -v v="$1" 'BEGIN { printf "%.3f", v }'; }

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain -- src analyzers 2>/dev/null) ]] || COMMIT="$COMMIT (+ uncommitted changes in src/ or analyzers/)"
CPU_MODEL=$(grep -m 1 'model name' /proc/cpuinfo | sed 's/.*: //')
PGQ=$(dpkg-query -W -f '${Version}' libpg-query-dev 2>/dev/null || echo unknown)

mkdir -p "$RESULTS"
{
	echo "# phasegate benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- corpus: $TOTAL forward migrations, $BYTES bytes, ${#PROJECTS[@]} project folders ($CORPUS)"
	echo "- machine: $(nproc) CPUs, $CPU_MODEL; $(uname -sr)"
	echo "- phasegate $COMMIT (Release), libpg_query $PGQ, squawk $SQUAWK_VERSION"
	echo "- $ROUNDS paired rounds, each: floor, phasegate (one invocation, then one per folder), squawk; medians below"
	echo "- 1-minute load average: $LOAD_START before the rounds, $LOAD_END after (the rounds"
	echo "  themselves keep one core busy, so ~1 after them is normal; more means other work)"
	echo
	echo "| tool | processes | wall median (s) | wall range (s) | CPU median (s) | peak RSS median (MB) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	echo "| floor (pg_query_parse only) | 1 | $(s3 "${WALL[floor]}") | $(minmax floor) | $(s3 "${CPU[floor]}") | $(mb "${RSS[floor]}") |"
	echo "| phasegate lint --format json DIR… (all ${#PROJECTS[@]} folders) | 1 | $(s3 "${WALL[phasegate]}") | $(minmax phasegate) | $(s3 "${CPU[phasegate]}") | $(mb "${RSS[phasegate]}") |"
	echo "| phasegate lint --format json DIR, once per folder | ${#PROJECTS[@]} | $(s3 "${WALL[per-folder]}") | $(minmax per-folder) | $(s3 "${CPU[per-folder]}") | $(mb "${RSS[per-folder]}") (largest process) |"
	echo "| squawk --reporter json | $SQ_PROCS | $(s3 "${WALL[squawk]}") | $(minmax squawk) | $(s3 "${CPU[squawk]}") | $(mb "${RSS[squawk]}") |"
	echo
	echo "| ratio (median of per-round ratios) | measured | target | |"
	echo "| --- | ---: | ---: | --- |"
	echo "| phasegate / floor, wall | $(x "$R_FLOOR") | ≤ 2× | $(verdict "$R_FLOOR" 2) |"
	echo "| phasegate / squawk, wall | $(x "$R_SQUAWK") | ≤ 0.3× | $(verdict "$R_SQUAWK" 0.3) |"
	echo "| phasegate / squawk, peak RSS | $(x "$R_RSS") | ≤ 1× | $(verdict "$R_RSS" 1) |"
	echo "| phasegate / floor, CPU | $(x "$R_FLOOR_CPU") | | |"
	echo "| phasegate / squawk, CPU | $(x "$R_SQUAWK_CPU") | | |"
	echo "| once per folder / floor, wall | $(x "$P_FLOOR") | | |"
	echo "| once per folder / squawk, wall | $(x "$P_SQUAWK") | | |"
	echo "| once per folder / squawk, peak RSS | $(x "$P_RSS") | | |"
	echo
	echo "phasegate's targets are judged on the one invocation, which is run as"
	echo "squawk and the floor are: one process given every file. It reports the"
	echo "same findings and statements as the eight per-folder invocations (checked"
	echo "before the rounds); those pay eight process start-ups and are shown for"
	echo "teams that lint one folder per CI step."
	echo
	echo "Wall time is read from the shell's clock (\$EPOCHREALTIME) around each"
	echo "tool's own process (no measuring program in between), CPU time from"
	echo "the shell's children times; peak RSS comes from a second run of each"
	echo "under GNU time, whose own %e (0.01 s steps) gives phasegate / floor"
	echo "$(x "$R_FLOOR_E") and phasegate / squawk $(x "$R_SQUAWK_E")."
	echo
	echo "| phasegate, per folder | files | wall median (s) | peak RSS median (MB) |"
	echo "| --- | ---: | ---: | ---: |"
	for i in "${!PROJECTS[@]}"; do
		w=$(awk -F '\t' -v i="$i" '$2 == i { print "w", $3 }' projects.tsv | median w)
		m=$(awk -F '\t' -v i="$i" '$2 == i { print "m", $4 }' projects.tsv | median m)
		echo "| ${PROJECTS[$i]%%/*} | ${NFILES[$i]} | $(s3 "$w") | $(mb "$m") |"
	done
} >"$RESULTS/latest.md"
cat "$RESULTS/latest.md"
cp rounds.tsv "$RESULTS/rounds.tsv"
say "written: bench/results/latest.md (raw rounds: bench/results/rounds.tsv)"
