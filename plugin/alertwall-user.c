/* Copyright (c) 2026 alertwall authors */

#include "lib.h"
