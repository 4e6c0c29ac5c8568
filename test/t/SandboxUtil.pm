# Copyright (c) spotgo_gss contributors

# SandboxUtil.pm: what the outbox TAP tests share.
#
# Each test starts its own API sandbox (test/sandbox/server.py) as a child
# process, on a port the sandbox picks or on a given one (to bring a stopped
# sandbox back where the servers point), and stops every sandbox it started
# in END, however the test ends.  The sandbox's control endpoints are reached
# through test/sandbox/ctl.py, whose pretty-printed answer is parsed with
# JSON::PP.  Waiting is always bounded: wait_for_query() and wait_until()
# poll until a deadline (60 s unless told), then report the last result and
# return false, so a test never hangs and never sleeps a fixed time.

package SandboxUtil;

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter 'import';
use File::Basename qw(dirname basename);
use IPC::Run;
use JSON::PP;
use POSIX qw(WNOHANG);
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

our @EXPORT = qw(
  repo_root start_sandbox stop_sandbox sandbox_ctl sandbox_journal
  setup_extension wait_for_query wait_until worker_pid
  journal_put_counts wait_for_pending_request pid_alive backend_pid);

my $json = JSON::PP->new->utf8->canonical;
my %sandboxes;    # pid => 1 for every sandbox still running

# stop whatever sandbox is still running, however the test ends
END
{
	local $?;
	stop_sandbox({ pid => $_ }) foreach keys %sandboxes;
}

# The repository root: this file lives in test/t.
sub repo_root
{
	return abs_path(dirname(abs_path(__FILE__)) . '/../..');
}

# The python3 the postgres OS user can run (pyenv shims under /root are not
# readable by it): Debian's when present.
sub python
{
	return -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
}

# Start a sandbox, on port $port when given (0 or undef: a free one), and
# wait (30 s at most) until it listens.  Returns { pid, port }; dies when
# it does not come up.  Its output goes to a log file in the test's log
# directory, appended to across restarts.
sub start_sandbox
{
	my ($port) = @_;
	my $root = repo_root();
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $port_file = "$dir/sandbox.port";
	my $name = basename($0, '.pl');
	my $log = "$PostgreSQL::Test::Utils::log_path/sandbox_$name.log";

	my $pid = fork;
	die "fork failed: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', $log) or POSIX::_exit(126);
		open(STDERR, '>&', \*STDOUT) or POSIX::_exit(126);
		exec(python(), "$root/test/sandbox/server.py",
			'--port', $port // 0, '--port-file', $port_file, '--verbose')
		  or POSIX::_exit(127);
	}
	$sandboxes{$pid} = 1;

	my $deadline = time + 30;
	while (!-s $port_file)
	{
		if (waitpid($pid, WNOHANG) == $pid)
		{
			delete $sandboxes{$pid};
			die "the sandbox exited at start (status $?), see $log";
		}
		if (time > $deadline)
		{
			stop_sandbox({ pid => $pid });
			die "the sandbox wrote no port file in 30 s, see $log";
		}
		usleep(50_000);
	}
	my $got = slurp_file($port_file);
	chomp $got;
	note "sandbox pid $pid listening on 127.0.0.1:$got";
	return { pid => $pid, port => $got + 0 };
}

# Stop a sandbox: SIGTERM, then SIGKILL after 10 s; reaps the process.
sub stop_sandbox
{
	my ($sb) = @_;
	my $pid = $sb->{pid};

	return unless $sandboxes{$pid};
	kill 'TERM', $pid;
	my $deadline = time + 10;
	while (waitpid($pid, WNOHANG) == 0)
	{
		if (time > $deadline)
		{
			kill 'KILL', $pid;
			waitpid($pid, 0);
			last;
		}
		usleep(50_000);
	}
	delete $sandboxes{$pid};
	return;
}

# A control request to the sandbox through ctl.py: GET when $body is undef,
# else POST of $body (a Perl structure, sent as JSON).  Returns the decoded
# answer; dies when ctl.py fails.
sub sandbox_ctl
{
	my ($sb, $cmd, $body) = @_;
	my @cmd = (python(), repo_root() . '/test/sandbox/ctl.py',
		'--port', $sb->{port}, '--plain');
	push @cmd, '--json', $json->encode($body) if defined $body;
	push @cmd, $cmd;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err)
	  or die "ctl.py $cmd failed (status $?): $err";
	return $json->decode($out);
}

# The journal entries (arrayref), only those whose path starts with $prefix
# when given.
sub sandbox_journal
{
	my ($sb, $prefix) = @_;
	my $cmd = 'journal';
	$cmd .= "?path=$prefix" if defined $prefix;
	return sandbox_ctl($sb, $cmd)->{entries};
}

# How many PUT /api/customerorders requests carried each packing-slip
# number, from journal entries: { number => count }.  An order that appears
# twice in one request counts twice.
sub journal_put_counts
{
	my ($entries) = @_;
	my %count;

	foreach my $e (@$entries)
	{
		next unless $e->{method} eq 'PUT' && $e->{path} eq '/api/customerorders';
		die "PUT journal entry $e->{seq} has no JSON array body"
		  unless ref $e->{json} eq 'ARRAY';
		$count{ $_->{packingslipno} }++ foreach @{ $e->{json} };
	}
	return \%count;
}

# CREATE EXTENSION, the servers gss and spotgo pointing at the sandbox, and
# user mappings for the current user, in database $db (default postgres).
# $gss_extra: more options of the gss server (e.g. ", batch_size '50'").
sub setup_extension
{
	my ($node, $sb, $gss_extra, $db) = @_;
	my $url = "http://127.0.0.1:$sb->{port}";
	$gss_extra //= '';

	$node->safe_psql($db // 'postgres', qq{
CREATE EXTENSION spotgo_gss;
CREATE SERVER gss FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'gss', base_url '$url', site_id '1234', requests_per_minute '0'$gss_extra);
CREATE SERVER spotgo FOREIGN DATA WRAPPER spotgo_gss
  OPTIONS (api 'spotgo', base_url '$url');
CREATE USER MAPPING FOR CURRENT_USER SERVER gss OPTIONS (access_key 'gss-test-key');
CREATE USER MAPPING FOR CURRENT_USER SERVER spotgo OPTIONS (api_key 'spotgo-test-key');
});
	return;
}

# Run $sql in database postgres until its output is $expected, for at most
# $timeout seconds (default 60).  Returns true when it matched; otherwise
# reports the last output and error with diag and returns false.
sub wait_for_query
{
	my ($node, $sql, $expected, $timeout) = @_;
	my $deadline = time + ($timeout // 60);
	my ($ret, $out, $err);

	while (1)
	{
		($ret, $out, $err) = $node->psql('postgres', $sql);
		return 1 if $ret == 0 && $out eq $expected;
		last if time > $deadline;
		usleep(100_000);
	}
	diag "gave up waiting for\n$sql\nto return\n$expected\nlast output:\n"
	  . ($out // '') . "\nstderr:\n" . ($err // '');
	return 0;
}

# Call $check until it returns true, for at most $timeout seconds (default
# 60), every 0.1 s.  Returns its last result.
sub wait_until
{
	my ($check, $timeout) = @_;
	my $deadline = time + ($timeout // 60);

	while (1)
	{
		my $r = $check->();
		return $r if $r;
		return $r if time > $deadline;
		usleep(100_000);
	}
}

# The pid of the outbox worker, or '' when none runs.
sub worker_pid
{
	my ($node) = @_;
	return backend_pid($node, 'spotgo_gss outbox worker');
}

# The pid of the (first) process of pg_stat_activity's backend_type $type,
# or '' when none runs.
sub backend_pid
{
	my ($node, $type) = @_;
	return $node->safe_psql('postgres',
		"SELECT min(pid) FILTER (WHERE backend_type = '$type') FROM pg_stat_activity");
}

# Wait (at most $timeout seconds, default 60) until the sandbox's journal
# holds a request $method $path whose answer is still pending (a delay
# fault holds it: status null).  Returns that entry, or undef.
sub wait_for_pending_request
{
	my ($sb, $method, $path, $timeout) = @_;
	return wait_until(sub {
		my ($e) = grep { $_->{method} eq $method && $_->{path} eq $path && !defined $_->{status} }
		  @{ sandbox_journal($sb, $path) };
		return $e;
	}, $timeout);
}

# Whether process $pid exists and is not a zombie (a child of a dead
# postmaster may linger as one until something reaps it).
sub pid_alive
{
	my ($pid) = @_;
	return 0 unless kill(0, $pid);
	open(my $fh, '<', "/proc/$pid/stat") or return 1;
	my $stat = <$fh>;
	close($fh);
	return ($stat // '') =~ /^\d+ \(.*\) Z/ ? 0 : 1;
}

1;
