"""Use cases, by concept. Each takes a Session, the acting user where there is one, and `now`
(an aware UTC datetime the caller read from the app's injected Clock); it writes, flushes and
leaves the commit to its caller (a view, a job run or a command), which commits once at its
boundary. The demo and seed generators are the exception: they commit in batches, and say so
where they do."""
