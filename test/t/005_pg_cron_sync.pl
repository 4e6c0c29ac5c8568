# Copyright (c) spotgo_gss contributors

# 005_pg_cron_sync.pl: the scheduled GoSweetSpot sync under a real pg_cron.
#
# Issue 6's acceptance: cron.schedule('* * * * *', 'SELECT
# spotgo_gss.sync_gss_orders()') fills spotgo_gss.gss_orders_local from the
# sandbox within 75 s, and cron.job_run_details shows the run succeeded.
# pg_cron runs its jobs in background workers (cron.use_background_workers),
# so it needs no libpq connection, host or password.  The sandbox holds 500
# generated orders; the test polls (90 s at most: pg_cron fires at the start
# of each minute) until all 500 are local, then checks the job's run and
# spotgo_gss.sync_status.
#
# Then the sandbox answers every listing with HTTP 500 and 20 more orders
# wait there: the next cron run must leave the 500 local rows as they were,
# record the error in sync_status (ok false, last_error set), and still show
# as succeeded in cron.job_run_details, since a failed sync returns NULL with
# a WARNING instead of failing the statement.  One to two minutes in all.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;
use Time::HiRes qw(time);

# pg_cron is built for each major only when its source can be had
# (scripts/pgbuild says so); without it this test has nothing to run
my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
plan skip_all => "pg_cron is not installed for this PostgreSQL ($pkglibdir)"
  unless -f "$pkglibdir/pg_cron.so";

my $orders = 500;
my $wait_s = 90;    # the acceptance says 75 s; pg_cron's minute plus slack

my $sb = start_sandbox();
sandbox_ctl($sb, 'gss/orders',
	{ generate => { count => $orders, created => '2026-01-01T00:00:00Z' } });

my $node = PostgreSQL::Test::Cluster->new('pg_cron_sync');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');
setup_extension($node, $sb, ", max_retries '0'");

# the job as the issue states it
my $t0 = time;
my $jobid = $node->safe_psql('postgres',
	q{SELECT cron.schedule('* * * * *', 'SELECT spotgo_gss.sync_gss_orders()')});
like($jobid, qr/^\d+$/, "cron.schedule returned job id $jobid");

# (1) the first run fills the local table
ok( wait_for_query(
		$node, 'SELECT count(*) FROM spotgo_gss.gss_orders_local',
		$orders, $wait_s),
	"a cron run brought all $orders orders into gss_orders_local");
my $filled = time - $t0;
note sprintf('gss_orders_local had %d rows %.1f s after cron.schedule', $orders, $filled);
cmp_ok($filled, '<=', 75, 'within 75 s of scheduling');

my $run_done = qq{SELECT count(*) > 0 FROM cron.job_run_details
  WHERE jobid = $jobid AND end_time IS NOT NULL};
ok(wait_for_query($node, $run_done, 't', 30), 'the run is recorded as finished');

my $runs = $node->safe_psql('postgres', qq{
SELECT runid, status, return_message, command, database
  FROM cron.job_run_details WHERE jobid = $jobid ORDER BY runid});
note "cron.job_run_details:\n$runs";
my ($first_run, $status, $msg, $command, $db) =
  split /\|/, (split /\n/, $runs)[0];
is($status, 'succeeded', 'cron.job_run_details: status succeeded');
is($msg, 'SELECT 1', 'cron.job_run_details: return_message "SELECT 1"');
is($command, 'SELECT spotgo_gss.sync_gss_orders()', 'cron.job_run_details: the command run');
is($db, 'postgres', 'cron.job_run_details: in database postgres');

is( $node->safe_psql('postgres', q{
SELECT ok, last_error IS NULL, rows_changed, local_rows, watermark IS NOT NULL
  FROM spotgo_gss.sync_status WHERE server = 'gss' AND resource = 'gss_orders'}),
	"t|t|$orders|$orders|t",
	"sync_status: ok, no error, $orders rows changed, $orders local, watermark set");
is( $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE open), count(*) FILTER (WHERE deleted_at IS NOT NULL),
       count(DISTINCT synced_at), min(packingslipno), max(packingslipno)
  FROM spotgo_gss.gss_orders_local WHERE server = 'gss'}),
	"$orders|0|1|GEN00001|GEN00500",
	'local rows: all open, none deleted, one run, GEN00001..GEN00500');

# (2) the API fails: the next run keeps the local copy and records the error
# (the fault first, so that no run can see the new orders without it)
sandbox_ctl($sb, 'fault',
	{ method => 'GET', path => '/api/customerorders', times => -1, status => 500 });
sandbox_ctl($sb, 'gss/orders',
	{ generate => { count => 20, start => $orders + 1, created => '2026-01-02T00:00:00Z' } });
my $t1 = time;
my $next_run = qq{SELECT count(*) > 0 FROM cron.job_run_details
  WHERE jobid = $jobid AND runid > $first_run AND end_time IS NOT NULL};
ok(wait_for_query($node, $next_run, 't', $wait_s),
	'a later cron run finished while the API answered 500');
note sprintf('the failing run finished %.1f s after the fault was set', time - $t1);

my ($status2, $msg2) = split /\|/, $node->safe_psql('postgres', qq{
SELECT status, return_message FROM cron.job_run_details
 WHERE jobid = $jobid AND runid > $first_run AND end_time IS NOT NULL
 ORDER BY runid LIMIT 1});
is($status2, 'succeeded',
	'cron.job_run_details: the failing sync still ends as succeeded (NULL and a WARNING)');
is($msg2, 'SELECT 1', 'cron.job_run_details: return_message "SELECT 1"');

my $state = $node->safe_psql('postgres', q{
SELECT ok, last_error, local_rows, rows_changed, last_run_start > watermark
  FROM spotgo_gss.sync_status WHERE server = 'gss' AND resource = 'gss_orders'});
note "sync_status after the failing run: $state";
my ($ok2, $err2, $local2, $changed2, $later2) = split /\|/, $state;
is($ok2, 'f', 'sync_status: ok false');
like($err2, qr/HTTP 500/, 'sync_status: last_error names the HTTP 500');
is($local2, $orders, "sync_status: still $orders local rows");
is($changed2, $orders, 'sync_status: rows_changed still that of the last good run');
is($later2, 't', 'sync_status: the watermark stayed at the last good run');
is( $node->safe_psql('postgres', q{
SELECT count(*), count(DISTINCT synced_at), count(*) FILTER (WHERE open)
  FROM spotgo_gss.gss_orders_local}),
	"$orders|1|$orders",
	'local rows unchanged: the 20 new orders did not arrive, nothing rewritten');

my $faulted = grep { $_->{fault} && ($_->{status} // 0) == 500 }
  @{ sandbox_journal($sb, '/api/customerorders') };
cmp_ok($faulted, '>=', 1, 'the sandbox answered the run with 500');

# the job goes away
is($node->safe_psql('postgres', "SELECT cron.unschedule($jobid)"), 't', 'cron.unschedule');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cron.job'), '0', 'no job left');

$node->stop;
stop_sandbox($sb);

done_testing();
