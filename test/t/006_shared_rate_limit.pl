
# Copyright (c) spotgo_gss contributors

# 006_shared_rate_limit.pl: requests_per_minute counts the requests of all
# of a database's sessions when spotgo_gss is preloaded, and per session
# when it is not.
#
# A server allows 2 requests a minute.  With the library preloaded, two
# requests from one session use up the minute, and a third request from
# another session waits: under statement_timeout = 1s it is cancelled
# (57014) and never reaches the sandbox.  Without preloading, the second
# session has a budget of its own and its request goes out at once.  No
# timing is asserted: the cancel shows the wait.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SandboxUtil;
use Test::More;

my $sb = start_sandbox();

sub status_requests
{
	my $journal = sandbox_journal($sb);
	return scalar grep { $_->{path} =~ m{^/v2/order/} } @$journal;
}

# returns the SQLSTATE of the call, or 'ok'
sub one_call
{
	my ($node, $no) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET statement_timeout = '1s'; SELECT spotgo_gss.gss_order_status('RL$no') IS NULL;",
		extra_params => [ '-v', 'VERBOSITY=sqlstate' ]);
	return $ret == 0 ? 'ok' : ($err =~ /ERROR:\s+([0-9A-Z]{5})/ ? $1 : $err);
}

for my $preload (1, 0)
{
	my $name = $preload ? 'shared' : 'per_session';
	my $node = PostgreSQL::Test::Cluster->new("rate_$name");
	$node->init;
	$node->append_conf('postgresql.conf',
		$preload ? "shared_preload_libraries = 'spotgo_gss'\nspotgo_gss.worker_naptime = '1h'\n" : '');
	$node->start;
	setup_extension($node, $sb);
	$node->safe_psql('postgres', "ALTER SERVER gss OPTIONS (SET requests_per_minute '2')");
	sandbox_ctl($sb, 'journal/clear', {});

	# each psql is a session of its own
	is(one_call($node, 1), 'ok', "$name: first request of session 1");
	is(one_call($node, 2), 'ok', "$name: first request of session 2");
	if ($preload)
	{
		is(one_call($node, 3), '57014',
			'shared: the third request of the minute, from session 3, waits until cancelled');
		is(status_requests(), 2, 'shared: only two requests reached the API');
	}
	else
	{
		is(one_call($node, 3), 'ok', 'per session: session 3 has a budget of its own');
		is(status_requests(), 3, 'per session: three requests reached the API');
	}
	$node->stop;
}

stop_sandbox($sb);
done_testing();
