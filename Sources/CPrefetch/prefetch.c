// CPrefetch is header-only (include/tributary_prefetch.h); SwiftPM needs one source file per C target.
#include "tributary_prefetch.h"
