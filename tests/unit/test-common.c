/* Copyright (c) 2026 alertwall authors */

/* tests for alertwall-common.c and alertwall-failure.c: the name tables
   round-trip, parsing is case-insensitive, aliases and prefixes work, and
   unknown names and values are refused */

#include "lib.h"
#include "alertwall-common.h"
#include "alertwall-failure.h"
#include "test-alertwall.h"

#include <errno.h>
#include <mail-error.h>

START_TEST(test_enum_names_round_trip)
{
	unsigned int i;
	enum alertwall_nature nature;
	enum alertwall_scope scope;
	enum alertwall_level level;
	enum alertwall_source source;

	for (i = 0; i < ALERTWALL_NATURE_COUNT; i++) {
		const char *name = alertwall_nature_name(i);

		ck_assert_msg(name != NULL, "nature %u", i);
		ck_assert_msg(alertwall_nature_parse(name, &nature) == 0 &&
			      nature == i, "nature %u", i);
		ck_assert_msg(alertwall_nature_parse(t_str_ucase(name),
						     &nature) == 0 &&
			      nature == i, "nature %u upper case", i);
	}
	for (i = 0; i < ALERTWALL_SCOPE_COUNT; i++) {
		const char *name = alertwall_scope_name(i);

		ck_assert_msg(name != NULL, "scope %u", i);
		ck_assert_msg(alertwall_scope_parse(name, &scope) == 0 &&
			      scope == i, "scope %u", i);
		ck_assert_msg(alertwall_scope_parse(t_str_ucase(name),
						    &scope) == 0 &&
			      scope == i, "scope %u upper case", i);
	}
	for (i = 0; i < ALERTWALL_LEVEL_COUNT; i++) {
		const char *name = alertwall_level_name(i);

		ck_assert_msg(name != NULL, "level %u", i);
		ck_assert_msg(alertwall_level_parse(name, &level) == 0 &&
			      level == i, "level %u", i);
		ck_assert_msg(alertwall_level_parse(t_str_ucase(name),
						    &level) == 0 &&
			      level == i, "level %u upper case", i);
	}
	for (i = 0; i < ALERTWALL_SOURCE_COUNT; i++) {
		const char *name = alertwall_source_name(i);

		ck_assert_msg(name != NULL, "source %u", i);
		ck_assert_msg(alertwall_source_parse(name, &source) == 0 &&
			      source == i, "source %u", i);
		ck_assert_msg(alertwall_source_parse(t_str_ucase(name),
						     &source) == 0 &&
			      source == i, "source %u upper case", i);
	}
	ck_assert_ptr_null(alertwall_nature_name(ALERTWALL_NATURE_COUNT));
	ck_assert_ptr_null(alertwall_scope_name(ALERTWALL_SCOPE_COUNT));
	ck_assert_ptr_null(alertwall_level_name(ALERTWALL_LEVEL_COUNT));
	ck_assert_ptr_null(alertwall_source_name(ALERTWALL_SOURCE_COUNT));
}
END_TEST

/* the names are part of the file formats: pin them */
START_TEST(test_enum_names_stable)
{
	static const struct {
		const char *got_kind;
		unsigned int value;
		const char *name;
	} cases[] = {
		{ "nature", ALERTWALL_NATURE_TRANSIENT, "transient" },
		{ "nature", ALERTWALL_NATURE_PERMANENT, "permanent" },
		{ "scope", ALERTWALL_SCOPE_EMAIL, "email" },
		{ "scope", ALERTWALL_SCOPE_MAILBOX, "mailbox" },
		{ "scope", ALERTWALL_SCOPE_PROFILE, "profile" },
		{ "level", ALERTWALL_LEVEL_INFO, "info" },
		{ "level", ALERTWALL_LEVEL_WARNING, "warning" },
		{ "level", ALERTWALL_LEVEL_ERROR, "error" },
		{ "source", ALERTWALL_SOURCE_DELIVERY, "delivery" },
		{ "source", ALERTWALL_SOURCE_SYNC, "sync" },
		{ "source", ALERTWALL_SOURCE_OPEN, "open" },
		{ "source", ALERTWALL_SOURCE_SAVE, "save" },
		{ "source", ALERTWALL_SOURCE_COPY, "copy" },
		{ "source", ALERTWALL_SOURCE_INDEX, "index" },
		{ "source", ALERTWALL_SOURCE_CACHE, "cache" },
		{ "source", ALERTWALL_SOURCE_AUTH, "auth" },
		{ "source", ALERTWALL_SOURCE_OTHER, "other" },
	};
	unsigned int i;
	const char *name;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		if (strcmp(cases[i].got_kind, "nature") == 0)
			name = alertwall_nature_name(cases[i].value);
		else if (strcmp(cases[i].got_kind, "scope") == 0)
			name = alertwall_scope_name(cases[i].value);
		else if (strcmp(cases[i].got_kind, "level") == 0)
			name = alertwall_level_name(cases[i].value);
		else
			name = alertwall_source_name(cases[i].value);
		ck_assert_msg(name != NULL && strcmp(name, cases[i].name) == 0,
			      "case %u: got %s", i, name);
	}
}
END_TEST

START_TEST(test_source_alias)
{
	static const char *const names[] = { "userdb", "USERDB", "auth" };
	enum alertwall_source source;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(names); i++) {
		source = ALERTWALL_SOURCE_OTHER;
		ck_assert_msg(alertwall_source_parse(names[i], &source) == 0,
			      "case %u", i);
		ck_assert_msg(source == ALERTWALL_SOURCE_AUTH, "case %u", i);
	}
	/* the alias parses but never prints */
	ck_assert_str_eq(alertwall_source_name(ALERTWALL_SOURCE_AUTH), "auth");
}
END_TEST

START_TEST(test_unknown_names)
{
	static const char *const names[] = {
		"", "transientx", "warn", "e-mail", "deliver", "userdbx",
		" info", "info ",
	};
	enum alertwall_nature nature;
	enum alertwall_scope scope;
	enum alertwall_level level;
	enum alertwall_source source;
	int value;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(names); i++) {
		ck_assert_msg(alertwall_nature_parse(names[i], &nature) < 0,
			      "case %u", i);
		ck_assert_msg(alertwall_scope_parse(names[i], &scope) < 0,
			      "case %u", i);
		ck_assert_msg(alertwall_level_parse(names[i], &level) < 0,
			      "case %u", i);
		ck_assert_msg(alertwall_source_parse(names[i], &source) < 0,
			      "case %u", i);
		ck_assert_msg(alertwall_mail_error_parse(names[i], &value) < 0,
			      "case %u", i);
		ck_assert_msg(alertwall_errno_parse(names[i], &value) < 0,
			      "case %u", i);
	}
	ck_assert_int_lt(alertwall_nature_parse(NULL, &nature), 0);
	ck_assert_int_lt(alertwall_mail_error_parse(NULL, &value), 0);
	ck_assert_int_lt(alertwall_errno_parse(NULL, &value), 0);
}
END_TEST

START_TEST(test_mail_error_names)
{
	/* every enum mail_error value, from Dovecot's own header */
	static const struct {
		int value;
		const char *name;
	} cases[] = {
		{ MAIL_ERROR_NONE, "NONE" },
		{ MAIL_ERROR_TEMP, "TEMP" },
		{ MAIL_ERROR_UNAVAILABLE, "UNAVAILABLE" },
		{ MAIL_ERROR_NOTPOSSIBLE, "NOTPOSSIBLE" },
		{ MAIL_ERROR_PARAMS, "PARAMS" },
		{ MAIL_ERROR_PERM, "PERM" },
		{ MAIL_ERROR_NOQUOTA, "NOQUOTA" },
		{ MAIL_ERROR_NOTFOUND, "NOTFOUND" },
		{ MAIL_ERROR_EXISTS, "EXISTS" },
		{ MAIL_ERROR_EXPUNGED, "EXPUNGED" },
		{ MAIL_ERROR_INUSE, "INUSE" },
		{ MAIL_ERROR_CONVERSION, "CONVERSION" },
		{ MAIL_ERROR_INVALIDDATA, "INVALIDDATA" },
		{ MAIL_ERROR_LIMIT, "LIMIT" },
		{ MAIL_ERROR_LOOKUP_ABORTED, "LOOKUP_ABORTED" },
	};
	unsigned int i;
	int value;

	ck_assert_int_eq(N_ELEMENTS(cases), ALERTWALL_MAIL_ERROR_COUNT);
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		const char *name = alertwall_mail_error_name(cases[i].value);

		ck_assert_msg(name != NULL &&
			      strcmp(name, cases[i].name) == 0,
			      "case %u: got %s", i, name);
		value = -1;
		ck_assert_msg(alertwall_mail_error_parse(cases[i].name,
							 &value) == 0 &&
			      value == cases[i].value, "case %u", i);
		value = -1;
		ck_assert_msg(alertwall_mail_error_parse(
				t_strconcat("MAIL_ERROR_", cases[i].name, NULL),
				&value) == 0 && value == cases[i].value,
			      "case %u with prefix", i);
		value = -1;
		ck_assert_msg(alertwall_mail_error_parse(
				t_str_lcase(t_strconcat("mail_error_",
							cases[i].name, NULL)),
				&value) == 0 && value == cases[i].value,
			      "case %u lower case", i);
	}
	ck_assert_ptr_null(alertwall_mail_error_name(-1));
	ck_assert_ptr_null(alertwall_mail_error_name(ALERTWALL_MAIL_ERROR_COUNT));
	ck_assert_int_lt(alertwall_mail_error_parse("MAIL_ERROR_", &value), 0);
	ck_assert_int_lt(alertwall_mail_error_parse("MAIL_ERROR_BOGUS", &value), 0);
}
END_TEST

START_TEST(test_errno_names)
{
	static const struct {
		int value;
		const char *name;
	} cases[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" },
		{ EACCES, "EACCES" }, { EEXIST, "EEXIST" },
		{ ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" },
		{ EINVAL, "EINVAL" }, { ENFILE, "ENFILE" },
		{ EMFILE, "EMFILE" }, { EFBIG, "EFBIG" }, { ENOSPC, "ENOSPC" },
		{ EROFS, "EROFS" }, { EMLINK, "EMLINK" }, { EAGAIN, "EAGAIN" },
		{ ENOMEM, "ENOMEM" }, { EBUSY, "EBUSY" },
		{ ETIMEDOUT, "ETIMEDOUT" }, { ESTALE, "ESTALE" },
		{ EDQUOT, "EDQUOT" }, { ENAMETOOLONG, "ENAMETOOLONG" },
		{ ELOOP, "ELOOP" }, { ECONNREFUSED, "ECONNREFUSED" },
		{ ECONNRESET, "ECONNRESET" }, { EPIPE, "EPIPE" },
		{ ENOTCONN, "ENOTCONN" }, { EHOSTUNREACH, "EHOSTUNREACH" },
		{ ENETUNREACH, "ENETUNREACH" }, { EINTR, "EINTR" },
		{ EXDEV, "EXDEV" }, { ENOTEMPTY, "ENOTEMPTY" },
		{ ENXIO, "ENXIO" }, { ENODEV, "ENODEV" }, { ENOSYS, "ENOSYS" },
		{ ENOTSUP, "ENOTSUP" },
	};
	/* aliases parse to the same value as their canonical name */
	static const struct {
		const char *alias;
		int value;
	} aliases[] = {
		{ "EWOULDBLOCK", EWOULDBLOCK },
		{ "EOPNOTSUPP", EOPNOTSUPP },
		{ "edquot", EDQUOT },
		{ "EnoSpc", ENOSPC },
	};
	unsigned int i;
	int value;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		const char *name = alertwall_errno_name(cases[i].value);

		ck_assert_msg(name != NULL && strcmp(name, cases[i].name) == 0,
			      "case %u: got %s", i, name);
		value = 0;
		ck_assert_msg(alertwall_errno_parse(cases[i].name, &value) == 0 &&
			      value == cases[i].value, "case %u", i);
	}
	for (i = 0; i < N_ELEMENTS(aliases); i++) {
		value = 0;
		ck_assert_msg(alertwall_errno_parse(aliases[i].alias,
						    &value) == 0 &&
			      value == aliases[i].value, "alias %u", i);
	}
	ck_assert_ptr_null(alertwall_errno_name(0));
	ck_assert_ptr_null(alertwall_errno_name(-1));
	ck_assert_ptr_null(alertwall_errno_name(100000));
	ck_assert_int_lt(alertwall_errno_parse("ENOSPACE", &value), 0);
	ck_assert_int_lt(alertwall_errno_parse("28", &value), 0);
}
END_TEST

START_TEST(test_failure_init)
{
	struct alertwall_failure failure;

	memset(&failure, 0xaa, sizeof(failure));
	alertwall_failure_init(&failure, ALERTWALL_SOURCE_SYNC);
	ck_assert_int_eq(failure.source, ALERTWALL_SOURCE_SYNC);
	ck_assert_int_eq(failure.mail_error, -1);
	ck_assert_int_eq(failure.errno_value, 0);
	ck_assert_uint_eq(failure.smtp_code, 0);
	ck_assert_uint_eq(failure.uid, 0);
	ck_assert_ptr_null(failure.text);
	ck_assert_ptr_null(failure.smtp_status);
	ck_assert_ptr_null(failure.event_name);
	ck_assert_ptr_null(failure.categories);
	ck_assert_ptr_null(failure.user);
	ck_assert_ptr_null(failure.mailbox);
	ck_assert_ptr_null(failure.guid);
	ck_assert_ptr_null(failure.message_id);
	ck_assert_ptr_null(failure.service);
	ck_assert_ptr_null(failure.session);
	ck_assert_ptr_null(failure.host);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("common");

	tcase_add_test(tc, test_enum_names_round_trip);
	tcase_add_test(tc, test_enum_names_stable);
	tcase_add_test(tc, test_source_alias);
	tcase_add_test(tc, test_unknown_names);
	tcase_add_test(tc, test_mail_error_names);
	tcase_add_test(tc, test_errno_names);
	tcase_add_test(tc, test_failure_init);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
