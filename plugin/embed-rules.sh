#!/bin/sh
# embed-rules.sh FILE: print a C file that holds FILE as the built-in rules
# text, so the module always has working defaults.
set -e
printf '/* generated from %s by embed-rules.sh: do not edit */\n' "$(basename "$1")"
printf '#include "lib.h"\n#include "alertwall-rules-private.h"\n\n'
printf 'const char alertwall_builtin_rules_text[] =\n'
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$1"
printf ';\n'
