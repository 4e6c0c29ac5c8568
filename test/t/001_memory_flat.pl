
# Copyright (c) spotgo_gss contributors

# 001_memory_flat.pl: a backend's memory stays flat across failing calls.
#
# One session runs 500, then 4,500 more gss_order_status() calls that all
# fail, each caught in its own PL/pgSQL EXCEPTION block, and VmRSS of that
# backend is read from /proc between the two batches and after them.  Failure
# kinds: connection refused (a loopback port nothing listens on), HTTP 500 and
# malformed JSON (a tiny HTTP server in a child process).  libcurl's memory
# lives outside every memory context, so a leak on an error branch shows up
# here as steady growth.  No timing is asserted: only memory and the number
# of failures.

use strict;
use warnings;

use IO::Socket::INET;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

if (!-r "/proc/self/status")
{
	plan skip_all => 'needs /proc/<pid>/status (Linux)';
}

my $first = 500;
my $total = 5000;
my $limit_kb = 2048;
my @children;

# the HTTP servers die with the test, however it ends
END
{
	local $?;
	kill 'KILL', @children;
	waitpid($_, 0) foreach @children;
}

# A server answering every request with the given status line and body, one
# connection at a time, "Connection: close".  Returns (port, child pid).
sub start_http_server
{
	my ($status, $body) = @_;
	my $listener = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => 0,
		Listen => 64,
		ReuseAddr => 1,
		Proto => 'tcp') or die "cannot listen: $!";
	my $port = $listener->sockport;
	my $pid = fork;
	die "fork failed: $!" unless defined $pid;
	if ($pid == 0)
	{
		# child: never return into the test's END blocks
		eval {
			while (my $conn = $listener->accept)
			{
				my $request = '';
				while ($request !~ /\r\n\r\n/)
				{
					my $n = sysread($conn, $request, 4096, length $request);
					last unless $n;
				}
				syswrite($conn,
					"HTTP/1.1 $status\r\n"
					  . "Content-Type: application/json; charset=utf-8\r\n"
					  . "Content-Length: "
					  . length($body) . "\r\n"
					  . "Connection: close\r\n\r\n"
					  . $body);
				close $conn;
			}
		};
		POSIX::_exit(0);
	}
	push @children, $pid;
	close $listener;
	return $port;
}

my $port_500 = start_http_server('500 Internal Server Error',
	'{"Message":"An error has occurred."}');
my $port_bad = start_http_server('200 OK', '{"packingslipno":"X1","consignee":"Ann","status":"PICK');
# reserved by the test framework and not listened on by anyone
my $port_closed = PostgreSQL::Test::Cluster::get_free_port();

my $node = PostgreSQL::Test::Cluster->new('memory_flat');
$node->init;
$node->start;

$node->safe_psql('postgres', qq{
CREATE EXTENSION spotgo_gss;
CREATE SERVER gss_refused FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$port_closed', site_id '1',
           max_retries '0', requests_per_minute '0');
CREATE SERVER gss_500 FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$port_500', site_id '1',
           max_retries '0', requests_per_minute '0');
CREATE SERVER gss_badjson FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url 'http://127.0.0.1:$port_bad', site_id '1',
           max_retries '0', requests_per_minute '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_refused OPTIONS (access_key 'x');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_500 OPTIONS (access_key 'x');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss_badjson OPTIONS (access_key 'x');
CREATE FUNCTION fail_calls(calls int, srv text) RETURNS text
LANGUAGE plpgsql AS \$\$
DECLARE
  failed int := 0;
  state text;
BEGIN
  FOR i IN 1..calls LOOP
    BEGIN
      PERFORM spotgo_gss.gss_order_status('X' || i, server => srv);
    EXCEPTION WHEN OTHERS THEN
      failed := failed + 1;
      GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
    END;
  END LOOP;
  RETURN failed || ' ' || coalesce(state, 'none');
END
\$\$;
});

# VmRSS of a process, in kB
sub vmrss_kb
{
	my ($pid) = @_;
	my $status = slurp_file("/proc/$pid/status");
	$status =~ /^VmRSS:\s+(\d+)\s+kB/m or die "no VmRSS for $pid";
	return $1;
}

# the SQLSTATE each kind of failure must raise
my %expected_state = (
	gss_refused => '08006',
	gss_500 => '38000',
	gss_badjson => '22032');

foreach my $srv (qw(gss_refused gss_500 gss_badjson))
{
	my $psql = $node->background_psql('postgres');
	my $pid = $psql->query_safe('SELECT pg_backend_pid()');
	chomp $pid;

	my $res = $psql->query_safe("SELECT fail_calls($first, '$srv')");
	is($res, "$first $expected_state{$srv}",
		"$srv: the first $first calls all fail with $expected_state{$srv}");
	my $rss_first = vmrss_kb($pid);

	$res = $psql->query_safe("SELECT fail_calls(" . ($total - $first) . ", '$srv')");
	is($res, ($total - $first) . " $expected_state{$srv}",
		"$srv: the next " . ($total - $first) . " calls all fail too");
	my $rss_last = vmrss_kb($pid);

	my $growth = $rss_last - $rss_first;
	note "$srv: VmRSS after $first calls $rss_first kB, after $total calls $rss_last kB, growth $growth kB";
	cmp_ok($growth, '<', $limit_kb,
		"$srv: VmRSS grows less than $limit_kb kB from call $first to call $total");
	$psql->quit;
}

$node->stop;

done_testing();
