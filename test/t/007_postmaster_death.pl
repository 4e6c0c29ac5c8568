# Copyright (c) spotgo_gss contributors

# 007_postmaster_death.pl: when the postmaster dies (kill -9), the outbox
# worker and its launcher exit at once, even in the middle of a slow HTTP
# request, so that the cluster can be started again right away.
#
# The sandbox answers every GSS PUT 3 s late; the gss server sends one order
# per PUT (batch_size 1) and the worker claims 10 items per batch, so it is
# busy for half a minute when the postmaster is killed, a request in flight.
# A worker that only looked for the postmaster between requests would live
# on for up to 3 s, and one that looked only between batches for 30 s:
# both launcher and worker must be gone within 2 s.  Then the sandbox's
# journal stops growing, the cluster starts again (no "pre-existing shared
# memory block is still in use"), no outbox item was lost, and with the
# fault cleared every item is delivered.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;
use Time::HiRes qw(usleep time);

my $total = 20;
my $delay_ms = 3000;
my $exit_limit = 2;    # seconds

my $sb = start_sandbox();

my $node = PostgreSQL::Test::Cluster->new('pm_death');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'spotgo_gss'
spotgo_gss.database = 'postgres'
spotgo_gss.worker_naptime = '200ms'
spotgo_gss.drain_batch = 10
spotgo_gss.max_attempts = 100
});
$node->start;
setup_extension($node, $sb, ", batch_size '1'");

sandbox_ctl($sb, 'fault',
	{ path => '/api/customerorders', method => 'PUT', delay_ms => $delay_ms, times => -1 });
$node->safe_psql('postgres', qq{
SELECT count(spotgo_gss.enqueue('gss.upsert_order',
                                jsonb_build_object('packingslipno', 'PM' || lpad(i::text, 3, '0'))))
  FROM generate_series(1, $total) i;
});

ok(wait_for_pending_request($sb, 'PUT', '/api/customerorders'),
	'the worker is waiting for a PUT answer');
is($node->safe_psql('postgres',
	'SELECT count(*) FROM spotgo_gss.outbox WHERE claimed_by IS NOT NULL'),
	'10', 'the worker holds a batch of 10 claimed items');
my $worker = worker_pid($node);
my $launcher = backend_pid($node, 'spotgo_gss launcher');
isnt($worker, '', "the worker runs (pid $worker)");
isnt($launcher, '', "the launcher runs (pid $launcher)");

# ---------------------------------------------------------------------------
# kill -9 the postmaster: launcher and worker must follow at once

my $t0 = time;
$node->kill9;
my %alive = (worker => $worker, launcher => $launcher);
my %gone_after;
while (%alive && time - $t0 < $exit_limit + 0.5)
{
	foreach my $who (keys %alive)
	{
		next if pid_alive($alive{$who});
		$gone_after{$who} = time - $t0;
		delete $alive{$who};
	}
	usleep(20_000);
}
foreach my $who (qw(worker launcher))
{
	my $after = $gone_after{$who};
	ok(defined $after && $after <= $exit_limit,
		"the $who exits within $exit_limit s of the postmaster's death"
		  . (defined $after ? sprintf(' (%.2f s)', $after) : ' (still alive)'));
}

# nothing is sent any more: the journal does not grow over more than one
# delayed answer (a fixed wait: it measures that nothing happens)
my $seen = scalar @{ sandbox_journal($sb) };
usleep(($delay_ms + 500) * 1000);
is(scalar @{ sandbox_journal($sb) }, $seen,
	'the sandbox journal stops growing once the postmaster is dead');

# ---------------------------------------------------------------------------
# the cluster starts again at once, and loses nothing

sandbox_ctl($sb, 'fault/clear', {});
my $started = $node->start(fail_ok => 1);
ok($started, 'the cluster starts again right after the kill');
ok(!$node->log_contains(qr/pre-existing shared memory block .* is still in use/),
	'no "pre-existing shared memory block is still in use"');
if (!$started)
{
	# let a lingering worker finish, so that the rest can still be checked
	my $gone = wait_until(sub { !pid_alive($worker) && !pid_alive($launcher) }, 60);
	diag sprintf('the worker and launcher were %s %.1f s after the kill',
		$gone ? 'gone' : 'still alive', time - $t0);
	$node->start;
}

is($node->safe_psql('postgres', 'SELECT count(*) FROM spotgo_gss.outbox'),
	$total, "all $total outbox items are still there");
ok(wait_for_query($node, q{SELECT count(*) FILTER (WHERE state = 'done') || '/' || count(*)
  FROM spotgo_gss.outbox}, "$total/$total"),
	"with the fault cleared, all $total items are delivered");
my %have = map { $_->{packingslipno} => 1 } @{ sandbox_ctl($sb, 'gss/orders')->{orders} };
is(scalar(grep { $have{ sprintf('PM%03d', $_) } } 1 .. $total), $total,
	"the sandbox has all $total orders");
isnt(worker_pid($node), '', 'a new worker runs after the restart');

$node->stop;
stop_sandbox($sb);

done_testing();
