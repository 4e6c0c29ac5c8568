# Copyright (c) spotgo_gss contributors

# 003_outbox_crash.pl: a crash in the middle of delivery loses nothing and
# re-sends at most the batch that was in flight.
#
# 1,000 GSS orders are enqueued in one transaction by a row trigger while
# the sandbox answers every PUT 300 ms late, so that the worker (batches of
# spotgo_gss.drain_batch = 200 items, PUTs of 50) is mid-delivery when the
# cluster is stopped in immediate mode (every process gets SIGQUIT: kill -9
# semantics for the outbox).  After the restart the worker takes over the
# claims of the dead process and finishes.  Then, from the sandbox: every
# order exists; from its journal: every number was PUT at least once, and at
# most 200 (one drain batch) were PUT more than once.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;

my $total = 1000;
my $drain_batch = 200;

my $sb = start_sandbox();

my $node = PostgreSQL::Test::Cluster->new('outbox_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'spotgo_gss'
spotgo_gss.database = 'postgres'
spotgo_gss.worker_naptime = '200ms'
spotgo_gss.drain_batch = $drain_batch
});
$node->start;
setup_extension($node, $sb, ", batch_size '50'");

$node->safe_psql('postgres', q{
CREATE TABLE orders (packingslipno text PRIMARY KEY, consignee text, city text);
CREATE TRIGGER orders_push AFTER INSERT OR UPDATE OR DELETE ON orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();
});

sandbox_ctl($sb, 'fault',
	{ path => '/api/customerorders', method => 'PUT', delay_ms => 300, times => -1 });

$node->safe_psql('postgres', qq{
INSERT INTO orders
SELECT 'CR' || lpad(i::text, 5, '0'), 'Consignee ' || i, 'City ' || (i % 17)
  FROM generate_series(1, $total) i;
});
my @numbers = map { sprintf('CR%05d', $_) } 1 .. $total;

# crash once some, but not all, items are done
my $done_before = wait_until(sub {
	my $n = $node->safe_psql('postgres',
		"SELECT count(*) FROM spotgo_gss.outbox WHERE state = 'done'");
	return $n > 0 ? $n : undef;
});
$node->stop('immediate');
ok($done_before, 'some items were done before the crash');
note "done when the crash was ordered: " . ($done_before // 0);
cmp_ok($done_before // 0, '<', $total, 'not all items were done before the crash');

my $before = journal_put_counts(sandbox_journal($sb, '/api/customerorders'));
note 'numbers PUT before the crash: ' . scalar(keys %$before);
cmp_ok(scalar(keys %$before), '<', $total,
	'the journal shows delivery cut short by the crash');

sandbox_ctl($sb, 'fault/clear', {});
$node->start;

ok(wait_for_query($node, q{SELECT count(*) FILTER (WHERE state = 'done') || '/' || count(*)
  FROM spotgo_gss.outbox}, "$total/$total"),
	"after the restart all $total items become done");
is($node->safe_psql('postgres',
	'SELECT count(*) FROM spotgo_gss.outbox WHERE claimed_by IS NOT NULL'),
	'0', 'no claim is left behind');

# nothing lost: the sandbox has every order
my %have = map { $_->{packingslipno} => 1 } @{ sandbox_ctl($sb, 'gss/orders')->{orders} };
my @missing = grep { !$have{$_} } @numbers;
is(scalar(@missing), 0, "the sandbox has all $total orders");
diag 'missing: ' . join(' ', @missing[ 0 .. ($#missing < 9 ? $#missing : 9) ]) if @missing;

# at least once, and re-sent at most one batch
my $puts = journal_put_counts(sandbox_journal($sb, '/api/customerorders'));
my @never = grep { !$puts->{$_} } @numbers;
is(scalar(@never), 0, 'the journal shows every number PUT at least once');
my $twice = grep { $_ > 1 } values %$puts;
note "numbers PUT more than once: $twice";
cmp_ok($twice, '<=', $drain_batch,
	"at most one drain batch ($drain_batch) of numbers was PUT more than once");
is(scalar(grep { !/^CR\d{5}$/ } keys %$puts), 0, 'no other number was PUT');

$node->stop;
stop_sandbox($sb);

done_testing();
