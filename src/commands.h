/*
 * commands.h: the subcommands main dispatches to, one cmd_<name>.c each, and
 * what main sets up for them.
 */
#ifndef PHG_COMMANDS_H
#define PHG_COMMANDS_H

#include "config/config.h"

/* Exit codes (DESIGN's "Interfaces"). */
enum phg_exit {
	PHG_EXIT_OK = 0,
	PHG_EXIT_REFUSED = 1,
	PHG_EXIT_USAGE = 2,
	PHG_EXIT_RUNTIME = 3
};

/* What main hands a command: the global options and the config. */
struct phg_cmd_env {
	const char *config_path; /* --config, or NULL */
	struct phg_config cfg;	 /* loaded, or defaults */
	bool have_config;
};

/* Flags telling main what to set up before a command. */
#define PHG_CMD_CONFIG_OPTIONAL 1u

struct phg_cmd {
	const char *name;
	int (*run)(int argc, char **argv, struct phg_cmd_env *env);
	unsigned flags;
	const char *summary;
};

int cmd_adopt(int argc, char **argv, struct phg_cmd_env *env);
int cmd_explain(int argc, char **argv, struct phg_cmd_env *env);
int cmd_history(int argc, char **argv, struct phg_cmd_env *env);
int cmd_lint(int argc, char **argv, struct phg_cmd_env *env);
int cmd_migrate(int argc, char **argv, struct phg_cmd_env *env);
int cmd_plan(int argc, char **argv, struct phg_cmd_env *env);
int cmd_release(int argc, char **argv, struct phg_cmd_env *env);
int cmd_rollback(int argc, char **argv, struct phg_cmd_env *env);
int cmd_rules(int argc, char **argv, struct phg_cmd_env *env);
int cmd_sandbox(int argc, char **argv, struct phg_cmd_env *env);
int cmd_status(int argc, char **argv, struct phg_cmd_env *env);

/*
 * A rule's page, docs/rules/<id>.md, embedded in the binary at build time
 * (cmake/embed_rule_docs.cmake writes rule_docs.c) for `phasegate explain`.
 */
struct phg_rule_doc {
	const char *id;
	const char *text; /* the page, byte for byte, NUL-terminated */
	size_t len;	  /* bytes of text, without the NUL */
};
/* Every page, sorted by id, ended by an entry whose id is NULL. */
extern const struct phg_rule_doc phg_rule_docs[];

/*
 * Loads the config for a command: env->config_path if set, else the
 * phasegate.yaml found here or above, else the defaults. Prints the error
 * and returns an exit code on failure, 0 on success.
 */
int phg_cmd_config(struct phg_cmd_env *env);

/* Maps a library error code to an exit code. */
int phg_exit_for(int code);
/* Prints err to stderr as "phasegate: [file:line:col: ]msg". */
void phg_print_err(const struct phg_err *err);

#endif
