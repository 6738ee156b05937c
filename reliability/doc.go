// Package reliability holds Quire's process-level reliability tests (issue
// 9): the real binary is built once, started on a free port, and driven over
// loopback while it is killed, stopped, starved of disk, cut off from its
// database or flooded. A bounded soak (make soak) watches threads, open files
// and memory over minutes of mixed traffic.
//
// The fault tests need root, as CI and the development container have: they
// mount a small tmpfs (disk full), set the immutable flag on the database
// files (read-only), and run a private PostgreSQL as the postgres user.
//
// Clock rule for several instances sharing one database: a rotated token's
// grace window starts at the rotation time stamped by the rotating instance
// and is compared with the clock of the instance that later sees the old
// token. Skew between instances therefore lengthens or shortens the grace
// window by the skew; keep clocks synchronised (NTP) well within
// --session-grace (default 10 s). Expiry times are absolute instants stored
// in UTC milliseconds, so time zones and DST never move them.
package reliability
