/*
 * test_nodes.c: the trees nodes.c builds from libpg_query's raw parse nodes
 * must be the trees json.c reads from pg_query_parse's JSON, exactly: same
 * node types, keys in the same order, same values, same omissions, and the
 * same refusal past the nesting limit — but for token offsets ("location"),
 * which nodes.c does not build and which are taken out of the JSON's tree
 * before comparing. Compared on statements chosen to
 * reach every kind of field (constants, lists of lists, enums, characters,
 * embedded and specific nodes), on every .sql file in the repository, and
 * across the nesting limit. PHG_NODES_EXTRA=dir1:dir2 adds folders (the
 * benchmark corpus, for instance) to the file walk.
 */
#define _GNU_SOURCE
#include <check.h>
#include <ftw.h>
#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "parse/parse.h"
#include "parse/pgparse.h"

/* Where two trees first differ ("" when they do not), for the message. */
static char diff_at[512];

static bool same_tree(const cJSON *a, const cJSON *b, const char *path)
{
	const cJSON *ca, *cb;
	char sub[400];

	if ((a->type & 0xFF) != (b->type & 0xFF)) {
		snprintf(diff_at, sizeof(diff_at), "%s: type %d vs %d", path,
			 a->type & 0xFF, b->type & 0xFF);
		return false;
	}
	if ((a->string == NULL) != (b->string == NULL) ||
	    (a->string && strcmp(a->string, b->string) != 0)) {
		snprintf(diff_at, sizeof(diff_at), "%s: key %s vs %s", path,
			 a->string ? a->string : "-",
			 b->string ? b->string : "-");
		return false;
	}
	switch (a->type & 0xFF) {
	case cJSON_Number:
		if (a->valuedouble != b->valuedouble ||
		    a->valueint != b->valueint) {
			snprintf(diff_at, sizeof(diff_at), "%s: %g vs %g", path,
				 a->valuedouble, b->valuedouble);
			return false;
		}
		return true;
	case cJSON_String:
		if (strcmp(a->valuestring, b->valuestring) != 0) {
			snprintf(diff_at, sizeof(diff_at),
				 "%s: '%.80s' vs '%.80s'", path, a->valuestring,
				 b->valuestring);
			return false;
		}
		return true;
	case cJSON_Object:
	case cJSON_Array:
		break;
	default:
		return true;
	}
	for (ca = a->child, cb = b->child; ca && cb;
	     ca = ca->next, cb = cb->next) {
		snprintf(sub, sizeof(sub), "%.300s/%s", path,
			 ca->string ? ca->string : "[]");
		if (!same_tree(ca, cb, sub))
			return false;
	}
	if (ca || cb) {
		snprintf(diff_at, sizeof(diff_at), "%s: %s has more items",
			 path, ca ? "JSON" : "nodes");
		return false;
	}
	/* cJSON keeps the last item as the first one's prev. */
	if (b->child && b->child->prev->next != NULL) {
		snprintf(diff_at, sizeof(diff_at),
			 "%s: the first item's prev is not the last", path);
		return false;
	}
	return true;
}

/* Takes every "location" member out of a tree read from JSON. */
static void drop_locations(cJSON *node)
{
	cJSON *c = node->child, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->string && strcmp(c->string, "location") == 0 &&
		    (c->type & 0xFF) == cJSON_Number)
			phg_json_delete(cJSON_DetachItemViaPointer(node, c));
		else
			drop_locations(c);
	}
}

/* Whether any "location" member is left in a tree. */
static bool has_location(const cJSON *node)
{
	for (const cJSON *c = node->child; c; c = c->next)
		if ((c->string && strcmp(c->string, "location") == 0) ||
		    has_location(c))
			return true;
	return false;
}

/* Both ways of parsing sql agree; returns whether it had a tree. */
static bool check_same(const char *sql, const char *what)
{
	PgQueryParseResult json = pg_query_parse(sql);
	struct phg_pg_result nodes;
	cJSON *from_json = NULL;
	bool had_tree;

	phg_pg_parse(sql, true, &nodes);
	ck_assert_msg((json.error == NULL) == (nodes.error == NULL),
		      "%s: only one side failed", what);
	if (json.error) {
		ck_assert_str_eq(json.error->message, nodes.error->message);
		ck_assert_int_eq(json.error->cursorpos, nodes.error->cursorpos);
		ck_assert_ptr_null(nodes.doc);
	} else {
		from_json = phg_json_parse(json.parse_tree);
		ck_assert_msg((from_json == NULL) == (nodes.doc == NULL),
			      "%s: only one side has a tree (json %p)", what,
			      (void *)from_json);
		diff_at[0] = '\0';
		if (from_json) {
			drop_locations(from_json);
			ck_assert_msg(same_tree(from_json, nodes.doc, ""),
				      "%s: %s", what, diff_at);
			ck_assert(!has_location(nodes.doc));
		}
	}
	had_tree = nodes.doc != NULL;
	phg_json_delete(from_json);
	phg_json_delete(nodes.doc);
	phg_json_reset();
	phg_pg_result_free(&nodes);
	pg_query_free_parse_result(json);
	return had_tree;
}

static const char *const statements[] = {
	/* constants: every A_Const value, zero, negative, NULL */
	"SELECT 1, 0, -7, 2147483648, 'a''b', E'\\u00e9\\n\\t\"', 1.5, "
	"0.0, true, false, NULL, B'0101', X'ff', $$dollar$$, U&'\\0041'",
	/* lists of lists, NULL list items, ordering enums */
	"INSERT INTO t (a, b) VALUES (1, DEFAULT), (2, 3) "
	"ON CONFLICT (a) DO UPDATE SET b = excluded.b RETURNING *",
	"SELECT a FROM t ORDER BY a DESC NULLS LAST LIMIT 5 OFFSET 1 "
	"FOR UPDATE SKIP LOCKED",
	"SELECT count(*) FILTER (WHERE a > 0) OVER w, rank() OVER (PARTITION "
	"BY b ORDER BY c ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t "
	"WINDOW w AS (ORDER BY a)",
	"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
	"SEARCH DEPTH FIRST BY n SET ord CYCLE n SET c USING p SELECT * FROM r",
	"SELECT CASE WHEN a THEN 1 ELSE 2 END, a IS NULL, a IS NOT TRUE, "
	"coalesce(a, b), greatest(a, b), a::int, CAST(b AS text), "
	"ARRAY[1, 2][1], (x).y, row(1, 2), a BETWEEN 1 AND 2, a IN (1, 2), "
	"EXISTS (SELECT 1), a = ANY (SELECT 1), current_date, "
	"xmlelement(name x), a COLLATE \"C\", a LIKE 'x%' ESCAPE '!'",
	"SELECT * FROM a JOIN b USING (id) LEFT JOIN LATERAL (SELECT 1) c "
	"ON true, unnest(ARRAY[1]) WITH ORDINALITY AS u(x, n), "
	"t TABLESAMPLE SYSTEM (10)",
	/* DDL: characters, enums, embedded and specific nodes */
	"CREATE TABLE IF NOT EXISTS s.t (id bigint GENERATED ALWAYS AS "
	"IDENTITY PRIMARY KEY, b char(2) NOT NULL DEFAULT 'x' COLLATE \"C\", "
	"c numeric(10, 2) CHECK (c > 0), d text REFERENCES o (id) ON DELETE "
	"CASCADE, e int GENERATED ALWAYS AS (id * 2) STORED, "
	"UNIQUE (b, c) DEFERRABLE INITIALLY DEFERRED, EXCLUDE USING gist "
	"(d WITH =)) PARTITION BY RANGE (id)",
	"CREATE UNLOGGED TABLE p1 PARTITION OF p FOR VALUES FROM (MINVALUE) "
	"TO (10)",
	"CREATE TABLE p2 PARTITION OF p FOR VALUES WITH (MODULUS 4, "
	"REMAINDER 1)",
	"CREATE FOREIGN TABLE f (a int) SERVER s OPTIONS (x 'y')",
	"CREATE TEMP TABLE tmp ON COMMIT DROP AS SELECT 1",
	"ALTER TABLE ONLY t ADD COLUMN IF NOT EXISTS x int NOT NULL DEFAULT 0, "
	"ALTER COLUMN y TYPE bigint USING y::bigint, ALTER COLUMN z SET NOT "
	"NULL, DROP COLUMN w CASCADE, ADD CONSTRAINT c CHECK (x > 0) NOT "
	"VALID, VALIDATE CONSTRAINT c, ALTER COLUMN v SET STATISTICS 100, "
	"ALTER COLUMN u SET (n_distinct = 5), SET (fillfactor = 70), "
	"ATTACH PARTITION q FOR VALUES IN (1, 2), DETACH PARTITION r "
	"CONCURRENTLY",
	"ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i, ALTER COLUMN a "
	"ADD GENERATED BY DEFAULT AS IDENTITY (START WITH 10), ALTER COLUMN "
	"a SET COMPRESSION lz4, REPLICA IDENTITY FULL, OWNER TO CURRENT_USER",
	"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t USING btree "
	"(lower(a) DESC NULLS FIRST, b text_pattern_ops) INCLUDE (c) WITH "
	"(fillfactor = 90) WHERE a IS NOT NULL",
	"DROP INDEX CONCURRENTLY IF EXISTS a, b RESTRICT",
	"REINDEX (VERBOSE) TABLE CONCURRENTLY t",
	"CREATE OR REPLACE FUNCTION f(a int, OUT b text, VARIADIC c int[]) "
	"RETURNS SETOF record LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER "
	"SET search_path = public COST 10 AS $f$ BEGIN RETURN; END $f$",
	"CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; "
	"END",
	"CREATE TRIGGER tr BEFORE UPDATE OF a ON t FOR EACH ROW WHEN "
	"(OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION f()",
	"CREATE POLICY p ON t AS RESTRICTIVE FOR SELECT TO public USING "
	"(a = current_user)",
	"GRANT SELECT (a), UPDATE ON ALL TABLES IN SCHEMA s TO r WITH GRANT "
	"OPTION",
	"REVOKE ALL ON FUNCTION f(int) FROM PUBLIC CASCADE",
	"CREATE TYPE mood AS ENUM ('a', 'b')",
	"ALTER TYPE mood ADD VALUE IF NOT EXISTS 'c' BEFORE 'a'",
	"ALTER TYPE mood RENAME VALUE 'a' TO 'z'",
	"CREATE DOMAIN d AS int CONSTRAINT pos CHECK (VALUE > 0)",
	"CREATE SEQUENCE sq AS bigint INCREMENT BY 2 MINVALUE 1 CACHE 10 "
	"OWNED BY t.id",
	"CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA ext",
	"CREATE MATERIALIZED VIEW mv AS SELECT 1 WITH NO DATA",
	"REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
	"CREATE OR REPLACE VIEW v WITH (security_barrier) AS SELECT 1 WITH "
	"CASCADED CHECK OPTION",
	"COMMENT ON COLUMN t.a IS 'x'",
	"ALTER TABLE t RENAME COLUMN a TO b",
	"ALTER INDEX i RENAME TO j",
	"ALTER TABLE t SET SCHEMA s",
	"TRUNCATE a, b RESTART IDENTITY CASCADE",
	"LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE NOWAIT",
	"VACUUM (FULL, ANALYZE) t (a)",
	"CLUSTER t USING i",
	"SET LOCAL lock_timeout = '1s'",
	"RESET ALL",
	"BEGIN ISOLATION LEVEL SERIALIZABLE",
	"COMMIT AND CHAIN",
	"SAVEPOINT s",
	"DO LANGUAGE plpgsql $$ BEGIN PERFORM 1; END $$",
	"COPY t (a) FROM STDIN WITH (FORMAT csv, HEADER true)",
	"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.x THEN "
	"UPDATE SET a = s.a WHEN NOT MATCHED THEN INSERT (a) VALUES (s.a) "
	"WHEN MATCHED THEN DELETE",
	"UPDATE t SET (a, b) = (SELECT 1, 2), c = DEFAULT FROM u WHERE "
	"t.id = u.id",
	"DELETE FROM t USING u WHERE CURRENT OF cur",
	"CREATE STATISTICS st (dependencies) ON a, b FROM t",
	"CREATE PUBLICATION pub FOR TABLE t (a) WHERE (a > 1), TABLES IN "
	"SCHEMA s",
	"ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO r",
	"CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING",
	"CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()",
	/* a Boolean node outside an A_Const writes false too */
	"ALTER ROLE r NOSUPERUSER CREATEDB",
	"SELECT 1 UNION SELECT 2 INTERSECT SELECT 3 EXCEPT ALL SELECT 4",
	"SELECT a FROM t GROUP BY GROUPING SETS ((a), ROLLUP (b), CUBE (c)) "
	"HAVING count(*) > 1",
	"SELECT * FROM XMLTABLE('/r' PASSING x COLUMNS a int PATH 'a')",
	"PREPARE p (int) AS SELECT $1",
	"EXPLAIN (ANALYZE, FORMAT json) SELECT 1",
	"CREATE TABLE c (LIKE t INCLUDING ALL)",
	"SELECT 1; SELECT 2;; SELECT 3",
	"",
	"-- only a comment",
	"SELECT FROM FROM",
	"SELECT 'unterminated",
};

START_TEST(test_statements)
{
	const char *sql = statements[_i];

	check_same(sql, sql);
}
END_TEST

static int files_checked;

static int check_file(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	size_t len = strlen(path);
	char *text;

	(void)st;
	(void)ftw;
	if (flag != FTW_F || len < 4 || strcmp(path + len - 4, ".sql") != 0)
		return 0;
	text = th_slurp(path);
	if (!text)
		return 0; /* unreadable fixtures are test_input_matrix's */
	check_same(text, path);
	free(text);
	files_checked++;
	return 0;
}

START_TEST(test_repository_files)
{
	const char *extra = getenv("PHG_NODES_EXTRA");

	files_checked = 0;
	ck_assert_int_eq(
		nftw(th_src_path("fixtures"), check_file, 32, FTW_PHYS), 0);
	ck_assert_int_eq(
		nftw(th_src_path("migrations"), check_file, 32, FTW_PHYS), 0);
	ck_assert_int_gt(files_checked, 300);
	if (extra) {
		char *dirs = strdup(extra), *save = NULL;

		ck_assert_ptr_nonnull(dirs);
		for (char *d = strtok_r(dirs, ":", &save); d;
		     d = strtok_r(NULL, ":", &save))
			ck_assert_int_eq(nftw(d, check_file, 32, FTW_PHYS), 0);
		free(dirs);
		fprintf(stderr, "test_nodes: %d files compared\n",
			files_checked);
	}
}
END_TEST

/* "SELECT 1 + 1 + ...": each '+' nests the tree two containers deeper. */
START_TEST(test_nesting_limit)
{
	int with_tree = 0, without = 0;

	for (int terms = 1480; terms <= 1510; terms++) {
		struct phg_buf b = {0};

		ck_assert_int_eq(phg_buf_puts(&b, "SELECT 1"), 0);
		for (int i = 1; i < terms; i++)
			ck_assert_int_eq(phg_buf_puts(&b, " + 1"), 0);
		if (check_same(b.data, "chain"))
			with_tree++;
		else
			without++;
		phg_buf_release(&b);
	}
	/* The sweep crosses the limit, so both sides were exercised. */
	ck_assert_int_gt(with_tree, 0);
	ck_assert_int_gt(without, 0);
}
END_TEST

static Suite *nodes_suite(void)
{
	Suite *s = suite_create("nodes");
	TCase *tc = tcase_create("nodes");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_statements, 0,
			    (int)(sizeof(statements) / sizeof(statements[0])));
	tcase_add_test(tc, test_repository_files);
	tcase_add_test(tc, test_nesting_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nodes_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	phg_parse_shutdown();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
