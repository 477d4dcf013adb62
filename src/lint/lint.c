/*
 * lint.c: one lint run. For every folder to lint: discover the migrations,
 * place release boundaries (boundaries.c), then read the migrations in order
 * — each statement is classified against the model, judged by the
 * statement-stage rules when its release is linted, and replayed into the
 * model; at the end of a linted release the release-stage rules judge it.
 */
#include "lint.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* A statement-stage rule's severity in this run, by registry index. */
static enum phg_severity rule_severity(const struct lint_folder *f, size_t i)
{
	return f->severity[i];
}

/*
 * Which statement rules each kind of statement calls (see rule_bits): a
 * rule that declares kinds under each of them, one that declares none (or
 * every rule, with opts.every_rule) under every statement. Rules that are
 * off in this run are left out.
 */
static int route_rules(struct lint_folder *f, size_t n)
{
	size_t words = (n + 63) / 64;
	uint64_t *bits = calloc((PHG_KIND_COUNT + 2) * words, sizeof(*bits));
	uint64_t *every;

	if (!bits)
		return PHG_ENOMEM;
	every = bits + PHG_KIND_COUNT * words;
	for (size_t i = 0; i < n; i++) {
		const struct phg_analyzer *a = phg_analyzers[i];
		uint64_t bit = 1ull << (i % 64);

		if (a->stage != PHG_STAGE_STATEMENT || !a->check_stmt ||
		    f->severity[i] == PHG_SEV_OFF)
			continue;
		if (a->nkinds == 0 || f->opts->every_rule) {
			every[i / 64] |= bit;
			continue;
		}
		for (size_t k = 0; k < a->nkinds; k++)
			if ((size_t)a->kinds[k] < PHG_KIND_COUNT)
				bits[a->kinds[k] * words + i / 64] |= bit;
	}
	f->rule_bits = bits;
	f->rule_words = words;
	return 0;
}

static int resolve_severities(struct lint_folder *f, struct phg_err *err)
{
	const struct phg_config *cfg = f->opts->cfg;
	size_t n = 0;

	while (phg_analyzers[n])
		n++;
	f->severity = calloc(n + 1, sizeof(*f->severity));
	if (!f->severity)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		f->severity[i] = phg_analyzers[i]->severity;
	for (size_t k = 0; cfg && k < cfg->nrules; k++) {
		const struct phg_rule_setting *rs = &cfg->rules[k];
		size_t i;

		for (i = 0; i < n; i++)
			if (phg_streq(phg_analyzers[i]->id, rs->id))
				break;
		if (i == n)
			return phg_err_set_at(
				err, PHG_ECONFIG, cfg->path, rs->line, rs->col,
				"unknown rule '%s' in 'rules'", rs->id);
		if ((phg_streq(rs->id, PHG_RULE_SYNTAX_ERROR) ||
		     phg_streq(rs->id, PHG_RULE_INVALID_ENCODING)) &&
		    rs->severity != PHG_SEV_ERROR)
			return phg_err_set_at(
				err, PHG_ECONFIG, cfg->path, rs->line, rs->col,
				"rule '%s' is always an error: a file that "
				"cannot be read cannot be checked",
				rs->id);
		f->severity[i] = rs->severity;
	}
	return route_rules(f, n);
}

static void rule_ctx(struct lint_folder *f, struct phg_rule_ctx *ctx)
{
	const struct phg_config *cfg = f->opts->cfg;

	memset(ctx, 0, sizeof(*ctx));
	ctx->arena = &f->res->arena;
	ctx->findings = &f->res->findings;
	ctx->model = &f->model;
	ctx->release = f->release;
	ctx->postgres_version = cfg->postgres_version;
	ctx->contract = cfg->contract;
	ctx->runner = cfg->runner;
	ctx->text = f->text;
	ctx->text_len = f->text_len;
}

static int finish_gate(struct lint_folder *f)
{
	struct phg_rule_ctx ctx;
	int rc = 0;

	if (!f->gate_active)
		return 0;
	rule_ctx(f, &ctx);
	ctx.release = f->gate.release;
	ctx.gate = &f->gate;
	for (size_t i = 0; phg_analyzers[i] && rc == 0; i++) {
		const struct phg_analyzer *a = phg_analyzers[i];

		if (a->stage != PHG_STAGE_RELEASE || !a->check_release)
			continue;
		ctx.severity = rule_severity(f, i);
		if (ctx.severity != PHG_SEV_OFF)
			rc = a->check_release(a, &ctx);
	}
	phg_gate_release(&f->gate);
	f->gate_active = false;
	return rc;
}

/*
 * The registry index of a finding's rule (that of the NULL at the end if
 * none). A rule's findings carry its own id: pointers are compared first
 * (ids are unique), names only for the parser's findings.
 */
static size_t rule_index(const char *id)
{
	size_t a = 0;

	while (phg_analyzers[a] && phg_analyzers[a]->id != id)
		a++;
	if (phg_analyzers[a])
		return a;
	for (a = 0; phg_analyzers[a]; a++)
		if (phg_streq(phg_analyzers[a]->id, id))
			break;
	return a;
}

/*
 * The parser reports its findings as errors; the config may lower or turn
 * off the ones it allows to (unanalyzable-statement).
 */
static void apply_parser_severities(struct lint_folder *f, size_t from)
{
	struct phg_findings *fs = &f->res->findings;
	size_t k = from;

	for (size_t i = from; i < fs->n; i++) {
		struct phg_finding *fi = &fs->items[i];
		size_t a = rule_index(fi->rule);

		if (phg_analyzers[a])
			fi->severity = f->severity[a];
		if (fi->severity != PHG_SEV_OFF)
			fs->items[k++] = *fi;
	}
	fs->n = k;
}

/* First pass over a file: learn what the runner will learn. */
static int pre_stmt(struct phg_stmt *s, void *vf)
{
	struct lint_folder *f = vf;
	int rc;

	if (!f->linted)
		return 0;
	if (phg_stmt_no_transaction(s->tree))
		f->file_no_tx = true;
	if (phg_node_get(s->tree, "TransactionStmt"))
		f->file_own_tx = true;
	/* The strongest phase matters only when contracts wait for the
	   cutover; classifying twice is a cost worth paying only then. */
	if (f->opts->cfg->contract != PHG_CONTRACT_AFTER_CUTOVER)
		return 0;
	rc = phg_classify(s, &f->model, f->release, &f->res->arena);
	if (s->phase > f->file_phase)
		f->file_phase = s->phase;
	return rc;
}

/*
 * Whether whoever applies the migration wraps the whole file in one
 * transaction: phasegate does unless a statement cannot run in one, the
 * layout says not to, or the file manages its own; with `runner: external`
 * the layout's own tool decides (dbmate, Flyway and Diesel wrap unless
 * told not to; Prisma and golang-migrate send the file as one script,
 * which PostgreSQL runs as one implicit transaction).
 */
static bool wrapped_in_transaction(const struct lint_folder *f)
{
	const struct phg_migration *m = f->mig;

	if (f->file_own_tx)
		return false;
	if (f->opts->cfg->runner == PHG_RUNNER_PHASEGATE)
		return !f->file_no_tx && !m->no_transaction;
	switch (m->layout) {
	case PHG_LAYOUT_DBMATE:
	case PHG_LAYOUT_FLYWAY:
	case PHG_LAYOUT_DIESEL:
	case PHG_LAYOUT_PRISMA:
	case PHG_LAYOUT_GOLANG_MIGRATE:
		return !m->no_transaction;
	case PHG_LAYOUT_NUMBERED:
		return false;
	}
	return false;
}

/* The columns s declares, read once for every rule (ctx->columns). */
static int read_columns(struct lint_folder *f, const struct phg_stmt *s,
			struct phg_rule_ctx *ctx)
{
	size_t n = phg_rule_read_columns(s, f->columns, f->columns_cap);

	if (n > f->columns_cap) {
		size_t cap = n < 64 ? 64 : n;
		struct phg_rule_column *c =
			realloc(f->columns, cap * sizeof(*c));

		if (!c)
			return PHG_ENOMEM;
		f->columns = c;
		f->columns_cap = cap;
		n = phg_rule_read_columns(s, f->columns, f->columns_cap);
	}
	ctx->columns = f->columns;
	ctx->ncolumns = n;
	return 0;
}

/* Adds the rules that look at statements of this kind to want. */
static void add_kind_rules(const struct lint_folder *f, uint64_t *want,
			   enum phg_kind kind)
{
	const uint64_t *bits;

	if ((size_t)kind >= PHG_KIND_COUNT)
		return;
	bits = f->rule_bits + (size_t)kind * f->rule_words;
	for (size_t w = 0; w < f->rule_words; w++)
		want[w] |= bits[w];
}

/*
 * Runs the statement-stage rules on s. A statement inside a DO block
 * (inner) always runs in a transaction: the DO statement's own.
 */
static int run_stmt_rules(struct lint_folder *f, const struct phg_stmt *s,
			  bool inner)
{
	size_t words = f->rule_words;
	uint64_t *want = f->rule_bits + (PHG_KIND_COUNT + 1) * words;
	struct phg_rule_ctx ctx;
	int rc = 0;

	rule_ctx(f, &ctx);
	ctx.migration = f->mig;
	ctx.after_cutover =
		f->opts->cfg->contract == PHG_CONTRACT_AFTER_CUTOVER &&
		f->file_phase == PHG_PHASE_CONTRACT;
	ctx.in_transaction =
		inner || s->in_transaction_block || wrapped_in_transaction(f);
	ctx.prev = (const struct phg_stmt *const *)f->file_stmts.items;
	ctx.nprev = f->file_stmts.n;
	rc = read_columns(f, s, &ctx);
	/* The rules that look at every statement, and those that look at
	   the statement's kind or one of its actions' kinds: called in
	   registry order. */
	memcpy(want, f->rule_bits + PHG_KIND_COUNT * words,
	       words * sizeof(*want));
	add_kind_rules(f, want, s->kind);
	for (size_t k = 0; k < s->nactions; k++)
		add_kind_rules(f, want, s->actions[k].kind);
	for (size_t w = 0; w < words && rc == 0; w++)
		while (want[w] && rc == 0) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(want[w]);
			const struct phg_analyzer *a = phg_analyzers[i];

			want[w] &= want[w] - 1;
			ctx.severity = rule_severity(f, i);
			rc = a->check_stmt(a, &ctx, s);
		}
	return rc;
}

/* opts.collect: what the runner will need to send this statement. */
static int collect_stmt(struct lint_folder *f, const struct phg_stmt *s)
{
	struct phg_lint_stmt_info *in =
		phg_arena_alloc(&f->res->arena, sizeof(*in));
	const cJSON *ix = phg_node_get(s->tree, "IndexStmt");

	if (!in)
		return PHG_ENOMEM;
	in->offset = s->offset;
	in->len = s->len;
	in->line = s->line;
	in->kind = s->kind;
	in->no_transaction = s->no_transaction;
	if (ix && phg_field_bool(ix, "concurrent") &&
	    phg_field_str(ix, "idxname"))
		in->concurrent_index = phg_qname(
			&f->res->arena,
			phg_field_str(phg_field(ix, "relation"), "schemaname"),
			phg_field_str(ix, "idxname"));
	if (s->opens_transaction || s->closes_transaction)
		f->own_tx = true;
	if (s->phase > f->mig_phase)
		f->mig_phase = s->phase;
	if (s->no_transaction)
		f->mig_no_tx = true;
	return phg_vec_push(&f->infos, in);
}

/* Whether the parser found the file unreadable (since finding `from`). */
static bool parser_findings(const struct phg_lint_result *r, size_t from)
{
	for (size_t i = from; i < r->findings.n; i++) {
		const char *id = r->findings.items[i].rule;

		if (phg_streq(id, PHG_RULE_SYNTAX_ERROR) ||
		    phg_streq(id, PHG_RULE_INVALID_ENCODING) ||
		    phg_streq(id, PHG_RULE_UNANALYZABLE))
			return true;
	}
	return false;
}

static int collect_migration(struct lint_folder *f, bool unreadable)
{
	struct phg_lint_result *r = f->res;
	struct phg_lint_migration *m, *grown;

	grown = realloc(r->migrations, (r->nmigrations + 1) * sizeof(*grown));
	if (!grown)
		return PHG_ENOMEM;
	r->migrations = grown;
	m = &r->migrations[r->nmigrations++];
	memset(m, 0, sizeof(*m));
	m->mig = f->mig;
	m->phase = f->mig_phase;
	m->no_transaction = f->mig_no_tx || f->mig->no_transaction;
	m->own_transaction = f->own_tx;
	m->unreadable = unreadable;
	m->nstmts = f->infos.n;
	if (m->nstmts) {
		m->stmts = phg_arena_alloc(&r->arena,
					   m->nstmts * sizeof(*m->stmts));
		if (!m->stmts)
			return PHG_ENOMEM;
		for (size_t i = 0; i < m->nstmts; i++)
			m->stmts[i] =
				*(struct phg_lint_stmt_info *)f->infos.items[i];
	}
	f->infos.n = 0;
	return 0;
}

/* Whether one of s's own ignore comments names rule. */
static bool ignores_locally(const struct phg_stmt *s, const char *rule)
{
	for (size_t k = 0; k < s->nlocal_ignores; k++)
		if (phg_streq(s->ignores[k], rule))
			return true;
	return false;
}

/*
 * Notes which of the DO block's own ignore ids suppressed a finding (from
 * `from` on) of a statement inside it, so that unused-ignore counts them
 * as used.
 */
static void note_block_ignores(struct lint_folder *f,
			       const struct phg_stmt *inner, size_t from)
{
	const struct phg_stmt *o = f->do_outer;

	for (size_t i = from; i < f->res->findings.n; i++) {
		const struct phg_finding *fi = &f->res->findings.items[i];

		if (!fi->suppressed || ignores_locally(inner, fi->rule))
			continue;
		for (size_t k = 0; k < o->nlocal_ignores && k < 64; k++)
			if (phg_streq(o->ignores[k], fi->rule))
				f->do_used |= 1ull << k;
	}
}

/*
 * Leaves the DO block's own ignore ids that suppressed something inside it
 * out of the ones unused-ignore judges: they move behind its own ones.
 */
static void drop_used_block_ignores(struct phg_stmt *o, unsigned long long used)
{
	const char *moved[64];
	size_t k = 0, m = 0;
	size_t n = o->nlocal_ignores < 64 ? o->nlocal_ignores : 64;

	for (size_t i = 0; i < n; i++) {
		if (used & (1ull << i))
			moved[m++] = o->ignores[i];
		else
			o->ignores[k++] = o->ignores[i];
	}
	/* moved[0, m) is set above; cppcheck 2.10 does not see it. */
	/* cppcheck-suppress uninitvar */
	memcpy(o->ignores + k, moved, m * sizeof(*moved));
	o->nlocal_ignores -= m;
}

/*
 * A statement inside a DO block (tree alive): classified against the model
 * as the statements before it in the block left it, judged by the
 * statement-stage rules at its own place, and replayed into the model.
 */
static int on_inner(struct phg_stmt *in, void *vf)
{
	struct lint_folder *f = vf;
	size_t before = f->res->findings.n;
	struct phg_stmt *copy;
	int rc = phg_classify(in, &f->model, f->release, &f->res->arena);

	if (rc < 0)
		return rc;
	/* The rules see the statements before it in the block as earlier
	   statements of the file: copies, whose trees live until the block
	   is done. */
	copy = phg_arena_alloc(&f->res->arena, sizeof(*copy));
	if (!copy)
		return PHG_ENOMEM;
	*copy = *in;
	rc = run_stmt_rules(f, copy, true);
	if (rc == 0)
		note_block_ignores(f, copy, before);
	if (rc == 0)
		rc = phg_vec_push(&f->file_stmts, copy);
	if (rc == 0 && copy->nlocal_ignores)
		rc = phg_vec_push(&f->inner_ignoring, copy);
	/* A DO block inside the block: its statements are judged where
	   they are written too, and replay themselves. */
	if (rc == 0 && in->kind == PHG_KIND_DO) {
		rc = phg_parse_do_block_placed(copy, f->text, f->text_len,
					       &f->res->arena, on_inner, f);
		return rc < 0 ? rc : 0;
	}
	if (rc == 0)
		rc = phg_model_apply(&f->model, in, f->release);
	return rc;
}

/*
 * A linted DO block: each statement inside it is judged where it is
 * written (on_inner) and replayed into the model — what phg_model_apply
 * does for the block as a whole.
 */
static int lint_do_block(struct lint_folder *f, struct phg_stmt *s)
{
	size_t nprev = f->file_stmts.n;
	int rc;

	f->do_outer = s;
	f->do_used = 0;
	rc = phg_parse_do_block_placed(s, f->text, f->text_len, &f->res->arena,
				       on_inner, f);
	/* The statements inside are not the file's: later statements see
	   the block as one. Their trees are gone with the walk. */
	for (size_t i = nprev; i < f->file_stmts.n; i++)
		((struct phg_stmt *)f->file_stmts.items[i])->tree = NULL;
	f->file_stmts.n = nprev;
	if (rc >= 0 && f->do_used)
		drop_used_block_ignores(s, f->do_used);
	f->do_outer = NULL;
	return rc < 0 ? rc : 0;
}

/* Second pass: classify against the model, judge, replay. */
static int on_stmt(struct phg_stmt *s, void *vf)
{
	struct lint_folder *f = vf;
	bool inside;
	int rc;

	rc = phg_classify(s, &f->model, f->release, &f->res->arena);
	if (rc < 0)
		return rc;
	/* A linted DO block replays what it runs statement by statement. */
	inside = f->linted && s->kind == PHG_KIND_DO;
	if (s->opens_transaction)
		f->in_tx_block = true;
	s->in_transaction_block = f->in_tx_block;
	if (s->closes_transaction)
		f->in_tx_block = false;
	if (f->opts->collect && collect_stmt(f, s) < 0)
		return PHG_ENOMEM;
	if (f->linted) {
		rc = run_stmt_rules(f, s, false);
		if (rc == 0 && inside)
			rc = lint_do_block(f, s);
		if (rc == 0)
			rc = phg_vec_push(&f->res->stmts, s);
		if (rc == 0)
			rc = phg_vec_push(&f->file_stmts, s);
		if (rc < 0)
			return rc;
	}
	/* A file PATH is judged with the rest of its release before it. */
	if (f->gate_active && f->gate.release == f->release) {
		rc = phg_gate_add(&f->gate, s, f->mig_index);
		if (rc < 0)
			return rc;
	}
	return inside ? 0 : phg_model_apply(&f->model, s, f->release);
}

static int lint_migration(struct lint_folder *f, size_t i, struct phg_err *err)
{
	struct phg_migration *m = &f->set.items[i];
	struct phg_parsed_file pf;
	struct phg_buf text = {0};
	size_t before;
	const char *file;
	int rc;

	f->mig = m;
	f->mig_index = i;
	f->release = f->release_of[i];
	f->linted = f->lint_release[f->release] &&
		    (f->only < 0 || (size_t)f->only == i) && f->reported[i];
	f->file_phase = PHG_PHASE_NONE;
	f->mig_phase = PHG_PHASE_NONE;
	f->file_no_tx = f->mig_no_tx = f->own_tx = f->file_own_tx = false;
	f->file_stmts.n = 0;
	f->in_tx_block = false;
	if (f->gate_active && f->gate.release != f->release) {
		rc = finish_gate(f);
		if (rc < 0)
			return phg_err_set(err, rc, "out of memory");
	}
	if (f->lint_release[f->release] && !f->gate_active) {
		phg_gate_init(&f->gate, f->release, &f->res->arena);
		f->gate_active = true;
	}
	before = f->res->findings.n;
	/* Checksums are for the runner; a plain lint does not pay for them. */
	rc = f->opts->collect ? phg_source_load(m, &text, err)
			      : phg_source_read(m, &text, err);
	if (rc < 0)
		return rc;
	f->text = text.data ? text.data : "";
	f->text_len = text.len;
	file = phg_arena_strdup(&f->res->arena, m->path);
	if (!file) {
		phg_buf_release(&text);
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	}
	if (f->linted) {
		f->res->files++;
		/* Findings are reported in file order: remember this one's. */
		if (phg_map_put(&f->res->file_order, file,
				(void *)(intptr_t)f->res->files) < 0) {
			phg_buf_release(&text);
			return phg_err_set(err, PHG_ENOMEM, "out of memory");
		}
	}
	rc = phg_parse_file2(file, text.data ? text.data : "", text.len,
			     m->up_start, m->up_end, &f->res->arena,
			     &f->res->findings, pre_stmt, on_stmt, f, &pf, err);
	f->text = NULL;
	f->text_len = 0;
	phg_buf_release(&text);
	if (rc < 0) {
		phg_parse_release(&pf);
		return phg_err_set(err, rc, "out of memory");
	}
	if (f->opts->collect &&
	    collect_migration(f, parser_findings(f->res, before)) < 0)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	phg_parse_release(&pf);
	/* The parser's findings count only for migrations being linted. */
	if (!f->linted)
		f->res->findings.n = before;
	apply_parser_severities(f, before);
	for (size_t k = before; k < f->res->findings.n; k++)
		f->res->findings.items[k].release = f->release;
	return 0;
}

static int lint_folder_run(struct lint_folder *f, struct phg_err *err)
{
	int rc = 0;

	phg_model_init(&f->model, &f->res->arena);
	for (size_t i = 0; i < f->stop && rc == 0; i++)
		rc = lint_migration(f, i, err);
	if (rc == 0) {
		rc = finish_gate(f);
		if (rc < 0)
			rc = phg_err_set(err, rc, "out of memory");
	}
	phg_gate_release(&f->gate);
	phg_model_release(&f->model);
	return rc;
}

static void lint_folder_release(struct lint_folder *f)
{
	phg_source_release(&f->set);
	phg_vec_release(&f->infos);
	phg_vec_release(&f->file_stmts);
	phg_vec_release(&f->inner_ignoring);
	free(f->release_of);
	free(f->reported);
	free(f->lint_release);
	free(f->severity);
	free(f->rule_bits);
	free(f->columns);
}

/*
 * unused-ignore: judged once every other rule has reported, over the
 * statements linted here and those inside DO blocks that have ignore
 * comments of their own.
 */
static int check_unused_ignores(struct lint_folder *f, size_t from_stmt)
{
	struct phg_vec mine = {0};
	struct phg_rule_ctx ctx;
	int rc = 0;

	for (size_t i = from_stmt; i < f->res->stmts.n && rc == 0; i++)
		rc = phg_vec_push(&mine, f->res->stmts.items[i]);
	for (size_t i = 0; i < f->inner_ignoring.n && rc == 0; i++)
		rc = phg_vec_push(&mine, f->inner_ignoring.items[i]);
	rule_ctx(f, &ctx);
	for (size_t i = 0; phg_analyzers[i]; i++)
		if (phg_streq(phg_analyzers[i]->id, "unused-ignore"))
			ctx.severity = f->severity[i];
	if (rc == 0)
		rc = phg_rule_check_unused_ignores(&ctx, &mine);
	phg_vec_release(&mine);
	return rc;
}

/* Keeps only the findings of one file (a file PATH was linted). */
static void keep_file_findings(struct phg_lint_result *r, size_t from,
			       const char *file)
{
	size_t k = from;

	for (size_t i = from; i < r->findings.n; i++)
		if (phg_streq(r->findings.items[i].file, file))
			r->findings.items[k++] = r->findings.items[i];
	r->findings.n = k;
}

/*
 * Drops the findings of migrations that are not reported (excluded, or
 * unchanged with --changed-since): release-stage rules judge the whole
 * release and may point at any of its migrations.
 */
static void drop_unreported_findings(struct lint_folder *f, size_t from)
{
	struct phg_lint_result *r = f->res;
	size_t k = from, hidden = 0;

	for (size_t m = 0; m < f->set.n; m++)
		hidden += !f->reported[m];
	if (hidden == 0)
		return;
	for (size_t i = from; i < r->findings.n; i++) {
		const char *file = r->findings.items[i].file;
		bool keep = true;

		for (size_t m = 0; m < f->set.n && keep; m++)
			if (!f->reported[m] &&
			    phg_streq(f->set.items[m].path, file))
				keep = false;
		if (keep)
			r->findings.items[k++] = r->findings.items[i];
	}
	r->findings.n = k;
}

static int lint_path(const struct phg_lint_opts *o, struct phg_lint_result *r,
		     const char *path, struct phg_err *err)
{
	struct lint_folder f = {.opts = o, .res = r, .only = -1};
	size_t from = r->findings.n, from_stmt = r->stmts.n;
	int rc;

	rc = resolve_severities(&f, err);
	if (rc == 0)
		rc = lint_target_prepare(&f, path, err);
	if (rc == 0)
		rc = lint_folder_run(&f, err);
	if (rc == 0 && check_unused_ignores(&f, from_stmt) < 0)
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	if (rc == 0 && f.only >= 0)
		keep_file_findings(r, from, f.set.items[f.only].path);
	if (rc == 0)
		drop_unreported_findings(&f, from);
	if (rc == 0 && o->collect && r->set.n == 0) {
		/* The runner keeps the set the migrations point into. */
		r->set = f.set;
		memset(&f.set, 0, sizeof(f.set));
	}
	lint_folder_release(&f);
	return rc;
}

static long file_rank(const struct phg_lint_result *r, const char *file)
{
	return (long)(intptr_t)phg_map_get(&r->file_order, file);
}

/* Each finding's file rank, indexed by its seq, looked up once per finding
 * before sorting (hashing a path in every comparison cost more than the sort).
 */
static const long *sort_ranks;

static int finding_cmp(const void *pa, const void *pb)
{
	const struct phg_finding *a = pa, *b = pb;
	long fa = sort_ranks[a->seq];
	long fb = sort_ranks[b->seq];

	if (fa != fb)
		return fa < fb ? -1 : 1;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Orders findings by file (run order), line, column, then as found. */
static int sort_findings(struct phg_lint_result *r)
{
	long *ranks;
	const char *last = NULL;
	long rank = 0;

	if (r->findings.n < 2)
		return 0;
	ranks = malloc(r->findings.n * sizeof(*ranks));
	if (ranks == NULL)
		return PHG_ENOMEM;
	for (size_t i = 0; i < r->findings.n; i++) {
		const char *file = r->findings.items[i].file;

		r->findings.items[i].seq = i;
		if (i == 0 || file != last)
			rank = file_rank(r, file);
		last = file;
		ranks[i] = rank;
	}
	sort_ranks = ranks;
	qsort(r->findings.items, r->findings.n, sizeof(*r->findings.items),
	      finding_cmp);
	sort_ranks = NULL;
	free(ranks);
	return 0;
}

static void count(struct phg_lint_result *r)
{
	r->errors = r->warnings = r->suppressed = 0;
	memset(r->phases, 0, sizeof(r->phases));
	for (size_t i = 0; i < r->findings.n; i++) {
		const struct phg_finding *fi = &r->findings.items[i];

		if (fi->suppressed)
			r->suppressed++;
		else if (fi->severity == PHG_SEV_ERROR)
			r->errors++;
		else if (fi->severity == PHG_SEV_WARNING)
			r->warnings++;
	}
	for (size_t i = 0; i < r->stmts.n; i++) {
		const struct phg_stmt *s = r->stmts.items[i];

		r->phases[s->phase]++;
	}
}

int phg_lint_run(const struct phg_lint_opts *o, struct phg_lint_result *r,
		 struct phg_err *err)
{
	int rc = 0;

	memset(r, 0, sizeof(*r));
	phg_arena_init(&r->arena);
	r->findings.arena = &r->arena;
	phg_map_init(&r->file_order, &r->arena);
	if (o->npaths == 0) {
		if (!o->have_config)
			return phg_err_set(
				err, PHG_EUSAGE,
				"nothing to lint: give a migrations folder or "
				"file, or run where a phasegate.yaml is (or "
				"pass --config FILE)");
		rc = lint_path(o, r, o->cfg->migrations, err);
	}
	for (size_t i = 0; i < o->npaths && rc == 0; i++)
		rc = lint_path(o, r, o->paths[i], err);
	if (sort_findings(r) < 0 && rc == 0)
		rc = phg_err_set(err, PHG_ENOMEM, "out of memory");
	count(r);
	return rc;
}

void phg_lint_result_release(struct phg_lint_result *r)
{
	phg_findings_release(&r->findings);
	phg_vec_release(&r->stmts);
	phg_vec_release(&r->releases);
	phg_map_release(&r->file_order);
	free(r->migrations);
	phg_source_release(&r->set);
	phg_arena_release(&r->arena);
}

bool phg_lint_refused(const struct phg_lint_result *r)
{
	return r->errors > 0;
}
