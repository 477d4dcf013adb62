/*
 * test_release_html: the release page (`release report TAG --html FILE`).
 * The page is rendered from a ledger-shaped release (two regions, a
 * rollback in the second), checked for its content and escaping, and then
 * rendered by real headless Chromium: the screenshot must hold the
 * outcome badge's colour and both regions' chart colours, so a blank or
 * broken page fails.
 */
#define _DEFAULT_SOURCE
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "helpers.h"
#include "report/report.h"

static struct phg_store_release rel = {
	.id = 7,
	.environment = "production",
	.tag = "v1.2.3",
	.state = PHG_REL_ROLLED_BACK,
	.target_slot = "green",
	.started_at = "2026-11-26T14:00:00.000Z",
	.finished_at = "2026-11-26T14:09:30.500Z",
	.reason = "error_rate 0.12 > 0.05 for 2m in eu-west <script>",
};

static struct phg_store_step steps[] = {
	{1, 7, "", "preflight", 0, PHG_STEP_DONE, "2026-11-26T14:00:00.000Z",
	 "2026-11-26T14:00:02.000Z", NULL},
	{2, 7, "us-east", "migrate", 1, PHG_STEP_DONE,
	 "2026-11-26T14:00:02.000Z", "2026-11-26T14:00:05.000Z", "2 applied"},
	{3, 7, "us-east", "traffic-10", 2, PHG_STEP_DONE,
	 "2026-11-26T14:00:05.000Z", "2026-11-26T14:03:00.000Z", NULL},
	{4, 7, "us-east", "traffic-100", 3, PHG_STEP_DONE,
	 "2026-11-26T14:03:00.000Z", "2026-11-26T14:05:00.000Z", NULL},
	{5, 7, "eu-west", "traffic-10", 4, PHG_STEP_ROLLED_BACK,
	 "2026-11-26T14:05:00.000Z", "2026-11-26T14:09:30.000Z",
	 "rolled back: error_rate"},
};

static struct phg_store_reading readings[] = {
	{"us-east", "error_rate", 0.001, false, 10, "2026-11-26T14:01:00.000Z"},
	{"us-east", "error_rate", 0.002, false, 100,
	 "2026-11-26T14:04:00.000Z"},
	{"eu-west", "error_rate", 0.02, false, 10, "2026-11-26T14:06:00.000Z"},
	{"eu-west", "error_rate", 0.12, true, 10, "2026-11-26T14:08:00.000Z"},
	{"eu-west", "error_rate", 0.13, true, 0, "2026-11-26T14:09:30.000Z"},
	{"us-east", "p99_ms", 210, false, 10, "2026-11-26T14:01:00.000Z"},
	{"eu-west", "p99_ms", 380, false, 10, "2026-11-26T14:08:00.000Z"},
};

static struct phg_store_event events[] = {
	{NULL, "start", "release v1.2.3 by ci", "2026-11-26T14:00:00.000Z"},
	{"eu-west", "rollback", "error_rate > 0.05 & held 2m",
	 "2026-11-26T14:09:30.000Z"},
};

static const struct phg_release_metric metrics[] = {
	{"error_rate", "error rate (fraction)", 0.05},
	{"p99_ms", "p99 latency (ms)", 1000},
	{"http_5xx_rate", "5xx rate (fraction)", 0.02}, /* no readings */
};

static const struct phg_release_applied applied[] = {
	{"us-east", "0002_add_slug", "expand", "2026-11-26T14:00:03.000Z"},
	{"us-east", "0003_backfill_slug", "backfill",
	 "2026-11-26T14:00:05.000Z"},
};

static struct phg_release_page page(void)
{
	struct phg_release_page p = {
		.release = &rel,
		.steps = steps,
		.nsteps = sizeof(steps) / sizeof(steps[0]),
		.readings = readings,
		.nreadings = sizeof(readings) / sizeof(readings[0]),
		.events = events,
		.nevents = sizeof(events) / sizeof(events[0]),
		.metrics = metrics,
		.nmetrics = sizeof(metrics) / sizeof(metrics[0]),
		.applied = applied,
		.napplied = sizeof(applied) / sizeof(applied[0]),
	};
	return p;
}

static char *render(void)
{
	struct phg_release_page p = page();
	struct phg_buf b = {0};

	ck_assert_int_eq(phg_report_release_html(&p, &b), 0);
	return b.data;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *s = hay; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

START_TEST(test_content)
{
	char *html = render();

	ck_assert_ptr_nonnull(strstr(html, "<title>release v1.2.3</title>"));
	ck_assert_ptr_nonnull(strstr(html, ">rolled-back<"));
	/* Every step, every migration and every event is on the page. */
	ck_assert_ptr_nonnull(strstr(html, "0002_add_slug"));
	ck_assert_ptr_nonnull(strstr(html, "0003_backfill_slug"));
	ck_assert_ptr_nonnull(strstr(html, "rolled back: error_rate"));
	ck_assert_uint_eq(count(html, "<rect "), 5); /* one bar per step */
	/* Charts: weight + the two metrics with readings, not the third. */
	ck_assert_uint_eq(count(html, "<svg "), 4);
	ck_assert_ptr_nonnull(strstr(html, "p99 latency (ms)"));
	ck_assert_ptr_null(strstr(html, "5xx rate (fraction)"));
	/* One line per region per chart: 2 regions x 3 charts. */
	ck_assert_uint_eq(count(html, "<polyline "), 6);
	ck_assert_ptr_nonnull(strstr(html, "rollback &gt; 0.05"));
	/* Ledger text is escaped: nothing from it can become markup. */
	ck_assert_ptr_null(strstr(html, "<script>"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;"));
	ck_assert_ptr_nonnull(strstr(html, "0.05 &amp; held 2m"));
	/* Self-contained: nothing is loaded from elsewhere. */
	ck_assert_ptr_null(strstr(html, "src="));
	ck_assert_ptr_null(strstr(html, "href="));
	free(html);
}
END_TEST

START_TEST(test_parse_time)
{
	double a, b;

	ck_assert_int_eq(phg_report_parse_time("2026-11-26T14:00:00.250Z", &a),
			 0);
	ck_assert_int_eq(phg_report_parse_time("2026-11-26T14:00:01Z", &b), 0);
	ck_assert(b - a > 749.0 && b - a < 751.0);
	ck_assert_int_eq(phg_report_parse_time("yesterday", &a), -1);
	ck_assert_int_eq(phg_report_parse_time(NULL, &a), -1);
}
END_TEST

/* A running release with no readings and no finish still renders. */
START_TEST(test_running_empty)
{
	struct phg_store_release r = rel;
	struct phg_release_page p = {.release = &r};
	struct phg_buf b = {0};

	r.state = PHG_REL_RUNNING;
	r.finished_at = NULL;
	r.reason = NULL;
	ck_assert_int_eq(phg_report_release_html(&p, &b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "not yet"));
	ck_assert_ptr_nonnull(strstr(b.data, "<p>none</p>"));
	ck_assert_ptr_nonnull(strstr(b.data, "</html>"));
	phg_buf_release(&b);
}
END_TEST

/* ---- the screenshot ------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);

	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* An 8-bit RGB or RGBA PNG, decoded into rows of RGB(A) pixels. */
struct image {
	uint32_t w, h;
	int bpp; /* 3 or 4 */
	unsigned char *px;
};

static void png_read(const char *path, struct image *img)
{
	FILE *f = fopen(path, "rb");
	unsigned char *file, *idat = NULL, *raw;
	long size;
	size_t nidat = 0, off = 8, stride;
	uLongf rawlen;

	ck_assert_msg(f != NULL, "no screenshot at %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	file = malloc((size_t)size);
	ck_assert_uint_eq(fread(file, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	ck_assert_msg(size > 8 && memcmp(file, "\x89PNG", 4) == 0, "not a PNG");
	idat = malloc((size_t)size);
	while (off + 12 <= (size_t)size) {
		uint32_t len = be32(file + off);
		const unsigned char *type = file + off + 4;

		ck_assert(off + 12 + len <= (size_t)size);
		if (memcmp(type, "IHDR", 4) == 0) {
			img->w = be32(file + off + 8);
			img->h = be32(file + off + 12);
			ck_assert_int_eq(file[off + 16], 8); /* bit depth */
			ck_assert(file[off + 17] == 2 || file[off + 17] == 6);
			img->bpp = file[off + 17] == 6 ? 4 : 3;
			ck_assert_int_eq(file[off + 20], 0); /* no interlace */
		} else if (memcmp(type, "IDAT", 4) == 0) {
			memcpy(idat + nidat, file + off + 8, len);
			nidat += len;
		}
		off += 12 + len;
	}
	stride = (size_t)img->w * (size_t)img->bpp;
	rawlen = (uLongf)((stride + 1) * img->h);
	raw = malloc(rawlen);
	ck_assert_int_eq(uncompress(raw, &rawlen, idat, (uLong)nidat), Z_OK);
	img->px = malloc(stride * img->h);
	for (uint32_t y = 0; y < img->h; y++) {
		const unsigned char *in = raw + y * (stride + 1) + 1;
		unsigned char *out = img->px + y * stride;
		const unsigned char *up = y ? out - stride : NULL;
		int filter = raw[y * (stride + 1)];

		for (size_t x = 0; x < stride; x++) {
			int a = x >= (size_t)img->bpp ? out[x - img->bpp] : 0;
			int b = up ? up[x] : 0;
			int c = up && x >= (size_t)img->bpp ? up[x - img->bpp]
							    : 0;
			int v = in[x];

			switch (filter) {
			case 1:
				v += a;
				break;
			case 2:
				v += b;
				break;
			case 3:
				v += (a + b) / 2;
				break;
			case 4:
				v += paeth(a, b, c);
				break;
			default:
				break;
			}
			out[x] = (unsigned char)v;
		}
	}
	free(raw);
	free(idat);
	free(file);
}

/* Pixels within a small distance of the colour #rrggbb. */
static size_t pixels_like(const struct image *img, unsigned rgb)
{
	size_t n = 0;
	int r = (int)(rgb >> 16), g = (int)(rgb >> 8 & 0xff),
	    b = (int)(rgb & 0xff);

	for (size_t i = 0; i < (size_t)img->w * img->h; i++) {
		const unsigned char *p = img->px + i * (size_t)img->bpp;

		if (abs(p[0] - r) < 12 && abs(p[1] - g) < 12 &&
		    abs(p[2] - b) < 12)
			n++;
	}
	return n;
}

static const char *chromium_path(void)
{
	static const char *const candidates[] = {"/usr/bin/chromium",
						 "/usr/bin/chromium-browser"};

	for (size_t i = 0; i < 2; i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

/* Runs chromium with argv, killed after 90 s; returns its exit status. */
static int run_bounded(char *const argv[])
{
	pid_t pid = fork();
	int status = -1;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 900; i++) {
		struct timespec ts = {0, 100000000};

		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ck_abort_msg("chromium did not finish within 90 s");
	return -1;
}

START_TEST(test_renders_in_chromium)
{
	const char *chromium = chromium_path();
	char *dir = th_tmpdir(), *html = render();
	char page_path[512], png[512], url[600], shot[600], profile[600];
	struct image img = {0};

	ck_assert_msg(chromium != NULL,
		      "chromium is not installed: run scripts/install-deps.sh");
	snprintf(page_path, sizeof(page_path), "%s/report.html", dir);
	snprintf(png, sizeof(png), "%s/shot.png", dir);
	snprintf(url, sizeof(url), "file://%s", page_path);
	snprintf(shot, sizeof(shot), "--screenshot=%s", png);
	snprintf(profile, sizeof(profile), "--user-data-dir=%s/profile", dir);
	th_write_str(dir, "report.html", html);
	{
		char *const argv[] = {
			(char *)chromium,
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
			"--no-first-run",
			profile,
			shot,
			"--window-size=1100,1400",
			url,
			NULL,
		};
		int st = run_bounded(argv);

		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "chromium failed (status %d)", st);
	}
	png_read(png, &img);
	ck_assert_uint_eq(img.w, 1100);
	/* The red "rolled-back" badge, and each region's chart lines. */
	ck_assert_msg(pixels_like(&img, 0xdc2626) > 200,
		      "no outcome badge in the screenshot");
	ck_assert_msg(pixels_like(&img, 0x2563eb) > 100,
		      "no us-east line in the screenshot");
	ck_assert_msg(pixels_like(&img, 0xd97706) > 100,
		      "no eu-west line in the screenshot");
	/* The timeline's bars: done (green) and rolled back (orange). */
	ck_assert_msg(pixels_like(&img, 0x22c55e) > 200,
		      "no done steps in the screenshot");
	ck_assert_msg(pixels_like(&img, 0xf97316) > 50,
		      "no rolled-back step in the screenshot");
	free(img.px);
	free(html);
	th_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("release_html");
	TCase *tc = tcase_create("page");
	TCase *browser = tcase_create("chromium");

	tcase_add_test(tc, test_content);
	tcase_add_test(tc, test_parse_time);
	tcase_add_test(tc, test_running_empty);
	suite_add_tcase(s, tc);
	tcase_set_timeout(browser, 120);
	tcase_add_test(browser, test_renders_in_chromium);
	suite_add_tcase(s, browser);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
