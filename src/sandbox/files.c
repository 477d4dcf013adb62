/*
 * files.c: what the sandbox writes — the backends' nginx config (one
 * server block per slot in its own file, rewritten by deploy and break,
 * plus a small router that reaches a slot by name: /blue/…, /green/…), the
 * balancer's nginx config and its upstream file (in phg_nginx's format),
 * the mtail program that turns the balancer's access log into metrics,
 * Prometheus's config, and the ready-to-use phasegate.yaml.
 *
 * Paths in the nginx configs are absolute and quoted; the sandbox folder is
 * checked for characters a config cannot hold before anything is written.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Request latency buckets, seconds (the ADR's 400 ms and 1 s included). */
#define SBX_BUCKETS "0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 5"

/* The temp folders Debian's nginx would otherwise put in /var/lib/nginx. */
#define TEMP_PATHS(p)                                                          \
	"    client_body_temp_path \"" p "/temp/client_body\";\n"              \
	"    proxy_temp_path \"" p "/temp/proxy\";\n"                          \
	"    fastcgi_temp_path \"" p "/temp/fastcgi\";\n"                      \
	"    uwsgi_temp_path \"" p "/temp/uwsgi\";\n"                          \
	"    scgi_temp_path \"" p "/temp/scgi\";\n"

void sbx_region_path(const struct sbx_state *st, const struct sbx_region *r,
		     const char *what, char *out, size_t size)
{
	sbx_fmt(out, size, "%s/%s%s%s", st->dir, r->name, what[0] ? "/" : "",
		what);
}

static int put(struct phg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int put(struct phg_buf *b, const char *fmt, ...)
{
	char line[SBX_PATH * 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return PHG_ENOMEM;
	return phg_buf_add(b, line, (size_t)n);
}

/* Writes b to path and releases b. */
static int flush_to(struct phg_buf *b, int rc, const char *path,
		    struct phg_err *err)
{
	if (rc == 0)
		rc = sbx_write_file(path, b->data ? b->data : "", err);
	else
		rc = phg_err_set(err, PHG_ENOMEM, "cannot build '%s'", path);
	phg_buf_release(b);
	return rc;
}

int sbx_write_slot_conf(const struct sbx_state *st, const struct sbx_region *r,
			enum sbx_slot s, struct phg_err *err)
{
	const struct sbx_slot_state *ss = &r->slot[s];
	const char *name = sbx_slot_name(s);
	int port = s == SBX_BLUE ? r->blue_port : r->green_port;
	char app[SBX_PATH], path[SBX_PATH + 64];
	struct phg_buf b = {0};
	int rc = 0;

	sbx_region_path(st, r, "app", app, sizeof(app));
	sbx_fmt(path, sizeof(path), "%s/conf/%s.conf", app, name);
	rc = rc ? rc
		: put(&b,
		      "# The %s slot of %s: rewritten by `phasegate sandbox "
		      "deploy` and `break`.\n"
		      "server {\n"
		      "    listen 127.0.0.1:%d;\n"
		      "    access_log \"%s/logs/%s.access.log\" slot;\n"
		      "    add_header X-Phasegate-Slot %s always;\n"
		      "    add_header X-Phasegate-Release \"%s\" always;\n"
		      "    location = /health {\n"
		      "        return 200 \"ok\\n\";\n"
		      "    }\n"
		      "    location = /version {\n"
		      "        return 200 \"%s\\n\";\n"
		      "    }\n"
		      "    location = / {\n"
		      "        default_type text/html;\n"
		      "        return 200 \"<!doctype html><title>%s %s</title>"
		      "<h1>%s</h1><p>region %s, slot %s%s</p>\\n\";\n"
		      "    }\n",
		      name, r->name, port, app, name, name, ss->release,
		      ss->release, r->name, name, ss->release, r->name, name,
		      ss->broken ? " (broken: the app answers 500)" : "");
	rc = rc ? rc
		: put(&b,
		      "    # The app path: everything else.\n"
		      "    location / {\n"
		      "        return %d \"%s %s%s\\n\";\n"
		      "    }\n"
		      "}\n",
		      ss->broken ? 500 : 200, name, ss->release,
		      ss->broken ? " broken" : "");
	return flush_to(&b, rc, path, err);
}

int sbx_write_app_conf(const struct sbx_state *st, const struct sbx_region *r,
		       struct phg_err *err)
{
	char app[SBX_PATH], path[SBX_PATH + 64];
	struct phg_buf b = {0};
	int rc;

	sbx_region_path(st, r, "app", app, sizeof(app));
	sbx_fmt(path, sizeof(path), "%s/conf/app.conf", app);
	rc = put(&b,
		 "# The backends of %s: the blue and green slots, and a router "
		 "that\n"
		 "# reaches a slot by name (/blue/..., /green/...). Written by "
		 "`phasegate sandbox up`.\n"
		 "daemon off;\n"
		 "worker_processes 1;\n"
		 "pid \"%s/logs/nginx.pid\";\n"
		 "error_log \"%s/logs/error.log\" warn;\n"
		 "events {\n"
		 "    worker_connections 1024;\n"
		 "}\n"
		 "http {\n"
		 "    default_type text/plain;\n"
		 "    keepalive_timeout 5s;\n"
		 "    log_format slot '$time_iso8601 $msec $status "
		 "$request_uri';\n",
		 r->name, app, app);
	rc = rc ? rc : put(&b, TEMP_PATHS("%s"), app, app, app, app, app);
	rc = rc ? rc
		: put(&b,
		      "    include \"%s/conf/blue.conf\";\n"
		      "    include \"%s/conf/green.conf\";\n"
		      "    server {\n"
		      "        listen 127.0.0.1:%d;\n"
		      "        access_log off;\n"
		      "        location = /health {\n"
		      "            return 200 \"ok\\n\";\n"
		      "        }\n"
		      "        location /blue/ {\n"
		      "            proxy_pass http://127.0.0.1:%d/;\n"
		      "        }\n"
		      "        location /green/ {\n"
		      "            proxy_pass http://127.0.0.1:%d/;\n"
		      "        }\n"
		      "    }\n"
		      "}\n",
		      app, app, r->slots_port, r->blue_port, r->green_port);
	return flush_to(&b, rc, path, err);
}

int sbx_write_lb_conf(const struct sbx_state *st, const struct sbx_region *r,
		      struct phg_err *err)
{
	char lb[SBX_PATH], path[SBX_PATH + 64];
	struct phg_buf b = {0};
	int rc;

	sbx_region_path(st, r, "lb", lb, sizeof(lb));
	/*
	 * No keepalive to the clients (Connection: close) and none to the
	 * upstreams: RECIPES.md saw socket errors on reloads otherwise. No
	 * http_500 in proxy_next_upstream: it would hide green's errors.
	 */
	sbx_fmt(path, sizeof(path), "%s/conf/lb.conf", lb);
	rc = put(&b,
		 "# The load balancer of %s. Written by `phasegate sandbox "
		 "up`; the\n"
		 "# weights live in upstream.conf (phasegate's nginx "
		 "provider rewrites it).\n"
		 "daemon off;\n"
		 "worker_processes 1;\n"
		 "pid \"%s/logs/nginx.pid\";\n"
		 "error_log \"%s/logs/error.log\" warn;\n"
		 "events {\n"
		 "    worker_connections 1024;\n"
		 "}\n"
		 "http {\n"
		 "    default_type text/plain;\n"
		 "    keepalive_timeout 0;\n"
		 "    log_format lb 'upstream=\"$upstream_addr\" "
		 "slot=\"$upstream_http_x_phasegate_slot\" status=$status "
		 "rt=$request_time';\n"
		 "    access_log \"%s/logs/access.log\" lb;\n",
		 r->name, lb, lb, lb);
	rc = rc ? rc : put(&b, TEMP_PATHS("%s"), lb, lb, lb, lb, lb);
	rc = rc ? rc
		: put(&b,
		      "    include \"%s/conf/upstream.conf\";\n"
		      "    server {\n"
		      "        listen 127.0.0.1:%d;\n"
		      "        location = /phasegate-lb/health {\n"
		      "            access_log off;\n"
		      "            return 200 \"ok\\n\";\n"
		      "        }\n"
		      "        location / {\n"
		      "            proxy_pass http://app;\n"
		      "            proxy_next_upstream error timeout;\n"
		      "            proxy_connect_timeout 2s;\n"
		      "            proxy_read_timeout 30s;\n"
		      "        }\n"
		      "    }\n"
		      "}\n",
		      lb, r->lb_port);
	rc = flush_to(&b, rc, path, err);
	if (rc < 0)
		return rc;
	/* phg_nginx_set_weights's format: blue first, "down" at 0 %. */
	sbx_fmt(path, sizeof(path), "%s/conf/upstream.conf", lb);
	rc = put(&b,
		 "upstream app {\n"
		 "    server 127.0.0.1:%d weight=100;\n"
		 "    server 127.0.0.1:%d down;\n"
		 "}\n",
		 r->blue_port, r->green_port);
	return flush_to(&b, rc, path, err);
}

int sbx_write_mtail_prog(const struct sbx_state *st, const struct sbx_region *r,
			 struct phg_err *err)
{
	char dir[SBX_PATH], path[SBX_PATH + 64];
	struct phg_buf b = {0};
	int rc;

	/* Its own folder: mtail takes every file of -progs for a program. */
	sbx_region_path(st, r, "mtail/progs", dir, sizeof(dir));
	sbx_fmt(path, sizeof(path), "%s/lb.mtail", dir);
	/*
	 * nginx logs $request_time in whole milliseconds, and mtail 3.0.0-rc50
	 * drops an observation of exactly 0 from every bucket (while counting
	 * it): adding half a millisecond puts each request in the middle of
	 * its rounding interval, which is also the unbiased estimate.
	 */
	rc = put(
		&b,
		"# Metrics from the real traffic of %s's load balancer: "
		"requests by\n"
		"# upstream address, slot (the backend's X-Phasegate-Slot "
		"header) and status,\n"
		"# and a latency histogram by slot. Written by `phasegate "
		"sandbox up`.\n"
		"counter lb_requests_total by upstream, slot, status\n"
		"histogram lb_request_seconds by slot buckets %s\n"
		"\n"
		"/^upstream=\"(?P<upstream>[^\"]*)\" slot=\"(?P<slot>[^\"]*)\" "
		"status=(?P<status>\\d{3}) rt=(?P<rt>\\d+\\.\\d+)$/ {\n"
		"  lb_requests_total[$upstream][$slot][$status]++\n"
		"  lb_request_seconds[$slot] = $rt + 0.0005\n"
		"}\n",
		r->name, SBX_BUCKETS);
	return flush_to(&b, rc, path, err);
}

int sbx_write_prom_conf(const struct sbx_state *st, struct phg_err *err)
{
	char path[SBX_PATH + 64];
	struct phg_buf b = {0};
	int rc;

	sbx_fmt(path, sizeof(path), "%s/prometheus/prometheus.yml", st->dir);
	rc = put(&b, "# Written by `phasegate sandbox up`.\n"
		     "global:\n"
		     "  scrape_interval: 1s\n"
		     "  scrape_timeout: 1s\n"
		     "  evaluation_interval: 1s\n"
		     "scrape_configs:\n"
		     "  - job_name: mtail\n"
		     "    static_configs:\n");
	for (size_t i = 0; rc == 0 && i < st->nregions; i++)
		rc = put(&b,
			 "      - targets: [\"127.0.0.1:%d\"]\n"
			 "        labels: {region: \"%s\"}\n",
			 st->r[i].mtail_port, st->r[i].name);
	return flush_to(&b, rc, path, err);
}

/* Appends s as a YAML double-quoted scalar. */
static int yq(struct phg_buf *b, const char *s)
{
	int rc = phg_buf_puts(b, "\"");

	for (; rc == 0 && *s; s++) {
		if (*s == '"' || *s == '\\')
			rc = phg_buf_add(b, "\\", 1);
		rc = rc ? rc : phg_buf_add(b, s, 1);
	}
	return rc ? rc : phg_buf_puts(b, "\"");
}

/* The PromQL the analysis runs; {region} {slot} filled in by phasegate. */
#define Q_SLOT "region=\"{region}\",slot=\"{slot}\""
#define Q_WINDOW "[10s]"

int sbx_write_config(const struct sbx_state *st, const char *migrations,
		     const char *exe, struct phg_err *err)
{
	char path[SBX_PATH + 64];
	struct phg_buf b = {0};
	int rc;

	sbx_fmt(path, sizeof(path), "%s/%s", st->dir, PHG_SANDBOX_CONFIG);
	rc = put(&b,
		 "# The sandbox's release config, written by `phasegate "
		 "sandbox up`: three\n"
		 "# regions on 127.0.0.1, each a PostgreSQL cluster, an nginx "
		 "load balancer and\n"
		 "# an nginx serving the blue and green slots; Prometheus "
		 "scrapes the metrics\n"
		 "# mtail derives from each balancer's access log. `phasegate "
		 "sandbox down`\n"
		 "# removes it all, this file included.\n"
		 "migrations: ");
	rc = rc ? rc : yq(&b, migrations);
	rc = rc ? rc
		: put(&b, "\npostgres_version: 15\n"
			  "contract: before-deploy\n"
			  "environment: sandbox\n"
			  "regions:\n");
	for (size_t i = 0; rc == 0 && i < st->nregions; i++) {
		const struct sbx_region *r = &st->r[i];
		char lb[SBX_PATH], app[SBX_PATH];

		sbx_region_path(st, r, "lb", lb, sizeof(lb));
		sbx_region_path(st, r, "app", app, sizeof(app));
		rc = put(&b,
			 "  - name: %s\n"
			 "%s"
			 "    database: "
			 "postgresql://postgres@127.0.0.1:%d/postgres\n"
			 "%s"
			 "    vars:\n"
			 "      lb: ",
			 r->name, r->primary ? "    primary: true\n" : "",
			 r->pg_port, r->primary ? "" : "    soak: 5s\n");
		rc = rc ? rc : yq(&b, lb);
		rc = rc ? rc : put(&b, "\n      app: ");
		rc = rc ? rc : yq(&b, app);
		rc = rc ? rc
			: put(&b,
			      "\n"
			      "      balancer: 127.0.0.1:%d\n"
			      "      blue: 127.0.0.1:%d\n"
			      "      green: 127.0.0.1:%d\n"
			      "      slots: 127.0.0.1:%d\n",
			      r->lb_port, r->blue_port, r->green_port,
			      r->slots_port);
	}
	rc = rc ? rc
		: put(&b,
		      "release:\n"
		      "  window: any\n"
		      "  lease_ttl: 30s\n"
		      "  traffic:\n"
		      "    steps: [10, 50, 100]\n"
		      "    hold: 20s\n"
		      "    nginx:\n"
		      "      prefix: \"{var.lb}\"\n"
		      "      conf: conf/lb.conf\n"
		      "      upstream_file: \"{var.lb}/conf/upstream.conf\"\n"
		      "      upstream: app\n"
		      "      blue: \"{var.blue}\"\n"
		      "      green: \"{var.green}\"\n"
		      "  analysis:\n"
		      "    interval: 2s\n"
		      "    sustain: 10s\n"
		      "    healthy: { error_rate: 0.01, p99_ms: 400 }\n"
		      "    rollback: { error_rate: 0.05, p99_ms: 1000, "
		      "http_5xx_rate: 0.02,\n"
		      "                connections_ratio: 0.5 }\n"
		      "    prometheus: http://127.0.0.1:%d\n"
		      "    # Over the slot being deployed; lb_requests_total "
		      "and\n"
		      "    # lb_request_seconds come from mtail. A rate is 0, "
		      "not no data, while\n"
		      "    # the slot has traffic and no errors (or "
		      "vector(0)). \"connections\" is\n"
		      "    # the balancer's request rate: each request is one "
		      "connection (the\n"
		      "    # balancer closes them).\n"
		      "    queries:\n",
		      st->prom_port);
	rc = rc ? rc
		: put(&b,
		      "      error_rate: '(sum(rate(lb_requests_total{" Q_SLOT
		      ",status=~\"5..|4..\"}" Q_WINDOW ")) or vector(0)) / "
		      "sum(rate(lb_requests_total{" Q_SLOT "}" Q_WINDOW "))'\n"
		      "      p99_ms: '1000 * histogram_quantile(0.99, sum by "
		      "(le) (rate(lb_request_seconds_bucket{" Q_SLOT
		      "}" Q_WINDOW ")))'\n"
		      "      http_5xx_rate: "
		      "'(sum(rate(lb_requests_total{" Q_SLOT
		      ",status=~\"5..\"}" Q_WINDOW ")) or vector(0)) / "
		      "sum(rate(lb_requests_total{" Q_SLOT "}" Q_WINDOW "))'\n"
		      "      connections: "
		      "'sum(rate(lb_requests_total{region=\"{region}"
		      "\"}" Q_WINDOW "))'\n"
		      "  deploy:\n"
		      "    command: [");
	rc = rc ? rc : yq(&b, exe);
	rc = rc ? rc : put(&b, ", \"sandbox\", \"deploy\", \"--dir\", ");
	rc = rc ? rc : yq(&b, st->dir);
	rc = rc ? rc
		: put(&b,
		      ",\n"
		      "              \"--region\", \"{region}\", \"--slot\", "
		      "\"{slot}\", \"--release\", \"{release}\"]\n"
		      "    timeout: 1m\n"
		      "  # The slot being deployed, through the backends' "
		      "router.\n"
		      "  smoke:\n"
		      "    http: { url: \"http://{var.slots}/{slot}/health\", "
		      "status: 200, body: \"ok\",\n"
		      "            timeout: 5s, retries: 3 }\n");
	return flush_to(&b, rc, path, err);
}
