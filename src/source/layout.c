/*
 * layout.c: the names of the migration layouts, as the docs and reports
 * spell them.
 */
#include "source.h"

const char *phg_layout_name(enum phg_layout layout)
{
	switch (layout) {
	case PHG_LAYOUT_NUMBERED:
		return "numbered";
	case PHG_LAYOUT_GOLANG_MIGRATE:
		return "golang-migrate";
	case PHG_LAYOUT_PRISMA:
		return "prisma";
	case PHG_LAYOUT_DBMATE:
		return "dbmate";
	case PHG_LAYOUT_FLYWAY:
		return "flyway";
	case PHG_LAYOUT_DIESEL:
		return "diesel";
	}
	return "unknown";
}
