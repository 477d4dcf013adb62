/*
 * state.c: sandbox.json, the record of a running sandbox — its folders,
 * every port, every process (pid and start time) and what each slot
 * serves — read and written with cJSON, plus the lock that keeps two
 * commands from rewriting it at once.
 */
#define _DEFAULT_SOURCE /* flock */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "internal.h"

#define STATE_VERSION 1

const char *const sbx_region_names[SBX_NREGIONS] = {"us-east-1", "eu-west-1",
						    "ap-southeast-1"};

const char *sbx_slot_name(enum sbx_slot s)
{
	return s == SBX_BLUE ? "blue" : "green";
}

int sbx_slot_parse(const char *name)
{
	if (name && strcmp(name, "blue") == 0)
		return SBX_BLUE;
	if (name && strcmp(name, "green") == 0)
		return SBX_GREEN;
	return -1;
}

static cJSON *proc_json(const struct sbx_proc *p)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "pid", (double)p->pid);
	cJSON_AddNumberToObject(o, "start", (double)p->start);
	return o;
}

static void proc_read(const cJSON *o, struct sbx_proc *p)
{
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(o, "pid");
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(o, "start");

	p->pid = cJSON_IsNumber(pid) ? (long)pid->valuedouble : 0;
	p->start = cJSON_IsNumber(start)
			   ? (unsigned long long)start->valuedouble
			   : 0;
}

static int num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valueint : 0;
}

static void str(const cJSON *o, const char *key, char *out, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	sbx_fmt(out, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

int sbx_state_save(const struct sbx_state *st, struct phg_err *err)
{
	cJSON *root = cJSON_CreateObject(), *regions;
	char path[SBX_PATH + 32];
	char *text = NULL;
	int rc = 0;

	if (!root)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	cJSON_AddNumberToObject(root, "version", STATE_VERSION);
	cJSON_AddStringToObject(root, "dir", st->dir);
	cJSON_AddStringToObject(root, "pgroot", st->pgroot);
	cJSON_AddBoolToObject(root, "pgroot_outside", st->pgroot_outside);
	cJSON_AddNumberToObject(root, "prometheus_port", st->prom_port);
	cJSON_AddItemToObject(root, "prometheus", proc_json(&st->prom));
	regions = cJSON_AddArrayToObject(root, "regions");
	for (size_t i = 0; regions && i < st->nregions; i++) {
		const struct sbx_region *r = &st->r[i];
		cJSON *o = cJSON_CreateObject(), *slots;

		if (!o)
			break;
		cJSON_AddItemToArray(regions, o);
		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddBoolToObject(o, "primary", r->primary);
		cJSON_AddNumberToObject(o, "postgres_port", r->pg_port);
		cJSON_AddNumberToObject(o, "blue_port", r->blue_port);
		cJSON_AddNumberToObject(o, "green_port", r->green_port);
		cJSON_AddNumberToObject(o, "slots_port", r->slots_port);
		cJSON_AddNumberToObject(o, "balancer_port", r->lb_port);
		cJSON_AddNumberToObject(o, "mtail_port", r->mtail_port);
		cJSON_AddItemToObject(o, "postgres", proc_json(&r->pg));
		cJSON_AddItemToObject(o, "backends", proc_json(&r->app));
		cJSON_AddItemToObject(o, "balancer", proc_json(&r->lb));
		cJSON_AddItemToObject(o, "mtail", proc_json(&r->mtail));
		slots = cJSON_AddObjectToObject(o, "slots");
		for (int s = 0; slots && s < 2; s++) {
			cJSON *so = cJSON_CreateObject();

			if (!so)
				break;
			cJSON_AddStringToObject(so, "release",
						r->slot[s].release);
			cJSON_AddBoolToObject(so, "broken", r->slot[s].broken);
			cJSON_AddItemToObject(
				slots, sbx_slot_name((enum sbx_slot)s), so);
		}
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return phg_err_set(err, PHG_ENOMEM, "out of memory");
	sbx_fmt(path, sizeof(path), "%s/%s", st->dir, PHG_SANDBOX_STATE);
	rc = sbx_write_file(path, text, err);
	free(text);
	return rc;
}

int sbx_state_load(const char *dir, struct sbx_state *st, bool *found,
		   struct phg_err *err)
{
	char path[SBX_PATH + 32];
	struct phg_buf text = {0};
	struct phg_err ignored = {0};
	const cJSON *regions, *o;
	cJSON *root;
	size_t i = 0;

	memset(st, 0, sizeof(*st));
	*found = false;
	sbx_fmt(path, sizeof(path), "%s/%s", dir, PHG_SANDBOX_STATE);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (phg_read_file(path, &text, &ignored) < 0)
		return phg_err_set(err, PHG_EIO, "cannot read '%s': %s", path,
				   ignored.msg);
	root = cJSON_Parse(text.data);
	phg_buf_release(&text);
	if (!root || num(root, "version") != STATE_VERSION) {
		cJSON_Delete(root);
		return phg_err_set(err, PHG_EIO,
				   "'%s' is not a sandbox state file this "
				   "phasegate reads",
				   path);
	}
	*found = true;
	str(root, "dir", st->dir, sizeof(st->dir));
	str(root, "pgroot", st->pgroot, sizeof(st->pgroot));
	st->pgroot_outside = cJSON_IsTrue(
		cJSON_GetObjectItemCaseSensitive(root, "pgroot_outside"));
	st->prom_port = num(root, "prometheus_port");
	proc_read(cJSON_GetObjectItemCaseSensitive(root, "prometheus"),
		  &st->prom);
	regions = cJSON_GetObjectItemCaseSensitive(root, "regions");
	cJSON_ArrayForEach(o, regions)
	{
		struct sbx_region *r;
		const cJSON *slots;

		if (i >= SBX_NREGIONS)
			break;
		r = &st->r[i++];
		str(o, "name", r->name, sizeof(r->name));
		r->primary = cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(o, "primary"));
		r->pg_port = num(o, "postgres_port");
		r->blue_port = num(o, "blue_port");
		r->green_port = num(o, "green_port");
		r->slots_port = num(o, "slots_port");
		r->lb_port = num(o, "balancer_port");
		r->mtail_port = num(o, "mtail_port");
		proc_read(cJSON_GetObjectItemCaseSensitive(o, "postgres"),
			  &r->pg);
		proc_read(cJSON_GetObjectItemCaseSensitive(o, "backends"),
			  &r->app);
		proc_read(cJSON_GetObjectItemCaseSensitive(o, "balancer"),
			  &r->lb);
		proc_read(cJSON_GetObjectItemCaseSensitive(o, "mtail"),
			  &r->mtail);
		slots = cJSON_GetObjectItemCaseSensitive(o, "slots");
		for (int s = 0; s < 2; s++) {
			const cJSON *so = cJSON_GetObjectItemCaseSensitive(
				slots, sbx_slot_name((enum sbx_slot)s));

			str(so, "release", r->slot[s].release,
			    sizeof(r->slot[s].release));
			r->slot[s].broken = cJSON_IsTrue(
				cJSON_GetObjectItemCaseSensitive(so, "broken"));
		}
	}
	st->nregions = i;
	cJSON_Delete(root);
	if (!st->dir[0])
		sbx_fmt(st->dir, sizeof(st->dir), "%s", dir);
	return 0;
}

int sbx_lock(const char *dir, struct phg_err *err)
{
	char path[SBX_PATH + 16];
	double deadline = sbx_now() + 60.0;
	int fd;

	sbx_fmt(path, sizeof(path), "%s/.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		phg_err_set(err, PHG_EIO, "cannot open '%s': %s", path,
			    strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			phg_err_set(err, PHG_EIO, "cannot lock '%s': %s", path,
				    strerror(errno));
			close(fd);
			return -1;
		}
		if (sbx_now() > deadline) {
			phg_err_set(err, PHG_ERUNTIME,
				    "another phasegate holds '%s' for over 60 "
				    "s",
				    path);
			close(fd);
			return -1;
		}
		sbx_sleep_ms(50);
	}
	return fd;
}

void sbx_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}
