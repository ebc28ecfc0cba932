/* Copyright (c) 2026 alertwall authors */

/* alertwall-profile: mapping a mailbox to its profile (the shared backend
   it is served by) and reading a profile's settings. The plugin calls it
   once per user; alerts carry the profile name and owner. */

#include "lib.h"
#include "array.h"
#include "alertwall-rules-private.h"

static bool
profile_match_userdb(const struct alertwall_profile *profile,
		     const char *const *fields)
{
	const char *field;

	if (fields == NULL)
		return FALSE;
	for (; *fields != NULL; fields++) {
		array_foreach_elem(&profile->userdb_fields, field) {
			if (strcmp(*fields, field) == 0)
				return TRUE;
		}
	}
	return FALSE;
}

static bool
profile_match_domain(const struct alertwall_profile *profile,
		     const char *user)
{
	const char *domain, *wanted;

	if (user == NULL || (domain = strrchr(user, '@')) == NULL)
		return FALSE;
	domain++;
	array_foreach_elem(&profile->domains, wanted) {
		if (strcasecmp(domain, wanted) == 0)
			return TRUE;
	}
	return FALSE;
}

static bool
profile_match_path(const struct alertwall_profile *profile, const char *path)
{
	const char *prefix;

	if (path == NULL)
		return FALSE;
	array_foreach_elem(&profile->path_prefixes, prefix) {
		if (strncmp(path, prefix, strlen(prefix)) == 0)
			return TRUE;
	}
	return FALSE;
}

/* any one condition that applies selects the profile */
static bool
profile_match(const struct alertwall_profile *profile,
	      const struct alertwall_profile_subject *subject)
{
	return profile->has_match &&
		(profile_match_userdb(profile, subject->userdb_fields) ||
		 profile_match_domain(profile, subject->user) ||
		 profile_match_path(profile, subject->mail_path));
}

const struct alertwall_profile *
alertwall_rules_find_profile(const struct alertwall_rules *rules,
			     const struct alertwall_profile_subject *subject)
{
	struct alertwall_profile *profile;

	array_foreach_elem(&rules->profiles, profile) {
		if (profile_match(profile, subject))
			return profile;
	}
	return rules->default_profile;
}

const struct alertwall_profile *
alertwall_rules_get_profile(const struct alertwall_rules *rules,
			    const char *name)
{
	struct alertwall_profile *profile;

	array_foreach_elem(&rules->profiles, profile) {
		if (strcmp(profile->name, name) == 0)
			return profile;
	}
	return NULL;
}

const char *alertwall_profile_get_name(const struct alertwall_profile *profile)
{
	return profile->name;
}

const char *alertwall_profile_get_owner(const struct alertwall_profile *profile)
{
	return profile->owner;
}

unsigned int
alertwall_profile_alarm_mailboxes(const struct alertwall_profile *profile)
{
	if (profile->mailboxes == 0)
		return 0;
	/* "more than": 50% of 4 mailboxes is 2, the alarm needs 3 */
	return (unsigned int)((unsigned long long)profile->mailboxes *
			      profile->alarm_percent / 100) + 1;
}

bool alertwall_profile_notify_mailbox_owners(const struct alertwall_profile *profile)
{
	return profile->notify_mailbox_owners;
}
