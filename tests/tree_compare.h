/*
 * tree_compare.h: parse SQL both ways (libpg_query's raw nodes walked by
 * phasegate, and its JSON read back) and compare the trees.
 */
#ifndef PHG_TEST_TREE_COMPARE_H
#define PHG_TEST_TREE_COMPARE_H

#include <stddef.h>

/*
 * Parses sql both ways. Returns 1 when both give the same tree (locations
 * aside), 0 when both give none (the same syntax error, or too deep), and
 * -1 when they differ, with where and how in why.
 */
int tc_compare_parse(const char *sql, char *why, size_t whylen);

#endif
