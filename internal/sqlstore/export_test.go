package sqlstore

// PrefetchSQL is the group's read of its users, for a test of its plan.
const PrefetchSQL = prefetchSQL
