# Copyright (c) spotgo_gss contributors

# 011_missing_worker_database.pl: when spotgo_gss.database does not exist,
# the launcher says so once and waits, quietly; a reload after the database
# is created starts the worker there at once.
#
# spotgo_gss.database = 'regress_nodb', which does not exist.  From the
# launcher's first "waiting" line, more than 6 s are watched (longer than a
# background worker's 5 s restart): the log keeps exactly one line saying
# database "regress_nodb" does not exist, and no FATAL line at all (no
# worker connecting into a missing database, no launcher dying).  Then the
# database is created with the extension and servers, and pg_reload_conf()
# (SIGHUP wakes the launcher, which looks again at once, well before its
# 60 s recheck): within 10 s the worker runs in regress_nodb, and it
# delivers an item enqueued there.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;
use Time::HiRes qw(usleep time);

my $sb = start_sandbox();

my $node = PostgreSQL::Test::Cluster->new('nodb');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'spotgo_gss'
spotgo_gss.database = 'regress_nodb'
spotgo_gss.worker_naptime = '200ms'
});
$node->start;

# the log's lines saying that regress_nodb does not exist, and its FATAL lines
sub missing_lines
{
	return grep { /database "regress_nodb" does not exist/ } split /\n/, slurp_file($node->logfile);
}

sub fatal_lines
{
	return grep { /FATAL:/ } split /\n/, slurp_file($node->logfile);
}

ok(wait_until(sub { scalar missing_lines() }, 15),
	'the log says that database regress_nodb does not exist');
my $first = time;
# a fixed wait: it measures that nothing more is logged
usleep(6_500_000);
my @missing = missing_lines();
is(scalar @missing, 1, 'over 6.5 s the log still has exactly one such line');
like($missing[0] // '',
	qr/LOG:  spotgo_gss outbox worker is waiting: database "regress_nodb" does not exist/,
	'it is the launcher\'s "waiting" message');
my @fatal = fatal_lines();
is(scalar @fatal, 0, 'no FATAL line in the log');
diag "FATAL lines:\n" . join("\n", @fatal) if @fatal;
isnt(backend_pid($node, 'spotgo_gss launcher'), '', 'the launcher runs');
is(worker_pid($node), '', 'no outbox worker runs');

# ---------------------------------------------------------------------------
# create the database; a reload makes the launcher look again at once

$node->safe_psql('postgres', 'CREATE DATABASE regress_nodb');
setup_extension($node, $sb, '', 'regress_nodb');
my $t0 = time;
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
my $in_db = wait_until(sub {
	$node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity
  WHERE backend_type = 'spotgo_gss outbox worker' AND datname = 'regress_nodb'}) eq '1'
}, 10);
ok($in_db, 'after pg_reload_conf() the worker runs in regress_nodb within 10 s');
note sprintf('worker seen %.1f s after the reload', time - $t0);
ok($node->log_contains(qr/spotgo_gss outbox worker found database "regress_nodb"/),
	'the launcher logs that it found the database');
ok($node->log_contains(qr/spotgo_gss outbox worker started in database "regress_nodb"/),
	'the worker logs its start in regress_nodb');

$node->safe_psql('regress_nodb',
	q{SELECT spotgo_gss.enqueue('gss.upsert_order', '{"packingslipno": "NODB-1"}')});
ok($node->poll_query_until('regress_nodb',
	"SELECT state FROM spotgo_gss.outbox WHERE object_key = 'NODB-1'", 'done'),
	'the worker delivers an item enqueued in regress_nodb');
my $puts = journal_put_counts(sandbox_journal($sb, '/api/customerorders'));
is($puts->{'NODB-1'}, 1, 'the journal shows NODB-1 PUT once');
is(scalar(fatal_lines()), 0, 'still no FATAL line in the log');

$node->stop;
stop_sandbox($sb);

done_testing();
