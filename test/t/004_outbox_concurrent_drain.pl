# Copyright (c) spotgo_gss contributors

# 004_outbox_concurrent_drain.pl: two drainers at once never send an item
# twice.
#
# No worker (spotgo_gss is not preloaded): 2,000 GSS upserts are queued by a
# row trigger, then two sessions run CALL spotgo_gss.drain_outbox() at the
# same time.  Batches of spotgo_gss.drain_batch = 100 make the two claim
# over and over; PUTs of 50 (server option batch_size) answered 50 ms late
# keep both busy long enough to overlap, which the test checks: while they
# run, items claimed by two different backends are seen at once.  After
# both have finished: every item is done, and the journal shows each
# packing-slip number in exactly one PUT.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;
use Time::HiRes qw(usleep time);

my $total = 2000;

my $sb = start_sandbox();

my $node = PostgreSQL::Test::Cluster->new('outbox_concurrent');
$node->init;
$node->append_conf('postgresql.conf', qq{
spotgo_gss.drain_batch = 100
});
$node->start;
setup_extension($node, $sb, ", batch_size '50'");

is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'spotgo_gss outbox worker'"),
	'0', 'no outbox worker runs (not preloaded)');

$node->safe_psql('postgres', qq{
CREATE TABLE orders (packingslipno text PRIMARY KEY, consignee text, city text);
CREATE TRIGGER orders_push AFTER INSERT OR UPDATE OR DELETE ON orders
  FOR EACH ROW EXECUTE FUNCTION spotgo_gss.push_gss_order();
INSERT INTO orders
SELECT 'CD' || lpad(i::text, 5, '0'), 'Consignee ' || i, 'City ' || (i % 13)
  FROM generate_series(1, $total) i;
});
is($node->safe_psql('postgres',
	"SELECT state || ' ' || count(*) FROM spotgo_gss.outbox GROUP BY state"),
	"pending $total", "$total items pending");

sandbox_ctl($sb, 'fault',
	{ path => '/api/customerorders', method => 'PUT', delay_ms => 50, times => -1 });

# both sessions connected first, then both CALLs sent
my @sessions = map { $node->background_psql('postgres', timeout => 120) } 1 .. 2;
my $t0 = time;
foreach my $i (0, 1)
{
	$sessions[$i]->query_until(qr/start$i\n/,
		"\\echo start$i\nCALL spotgo_gss.drain_outbox();\n\\echo done$i\n");
}

# while they run: are items claimed by two backends at the same time?
my $max_claimers = 0;
my $polls = 0;
my $deadline = time + 60;
while (time < $deadline)
{
	my $n = $node->safe_psql('postgres',
		'SELECT count(DISTINCT claimed_by) FROM spotgo_gss.outbox WHERE claimed_by IS NOT NULL');
	$polls++;
	$max_claimers = $n if $n > $max_claimers;
	last if $max_claimers >= 2;
	last if $node->safe_psql('postgres',
		"SELECT count(*) FROM spotgo_gss.outbox WHERE state = 'pending'") eq '0';
	usleep(20_000);
}
note "claim polls: $polls, most backends holding claims at once: $max_claimers";
is($max_claimers, 2, 'the two drainers held claims at the same time');

foreach my $i (0, 1)
{
	my $out = $sessions[$i]->query_until(qr/done$i\n/, '');
	like($out, qr/done$i/, "drainer $i finished");
	is($sessions[$i]->{stderr}, '', "drainer $i reported no error");
	$sessions[$i]->quit;
}
note sprintf('both drains took %.1f s', time - $t0);

is($node->safe_psql('postgres',
	"SELECT state || ' ' || count(*) FROM spotgo_gss.outbox GROUP BY state"),
	"done $total", "all $total items done");
is($node->safe_psql('postgres',
	'SELECT count(*) FROM spotgo_gss.outbox WHERE claimed_by IS NOT NULL OR attempts <> 1'),
	'0', 'every item took one attempt and no claim is left');

my $journal = sandbox_journal($sb, '/api/customerorders');
my $puts = journal_put_counts($journal);
my @numbers = map { sprintf('CD%05d', $_) } 1 .. $total;
my @never = grep { !$puts->{$_} } @numbers;
my @twice = grep { ($puts->{$_} // 0) > 1 } @numbers;
is(scalar(@never), 0, 'the journal shows every number PUT');
is(scalar(@twice), 0, 'the journal shows no number PUT twice');
diag 'sent more than once: ' . join(' ', @twice[ 0 .. ($#twice < 9 ? $#twice : 9) ]) if @twice;
is(scalar(keys %$puts), $total, "the journal shows $total distinct numbers and no others");
my @conns = do { my %c = map { $_->{conn} => 1 } grep { $_->{method} eq 'PUT' } @$journal; keys %c };
note 'PUT requests: ' . scalar(grep { $_->{method} eq 'PUT' } @$journal)
  . ', over connections: ' . join(' ', sort { $a <=> $b } @conns);

$node->stop;
stop_sandbox($sb);

done_testing();
