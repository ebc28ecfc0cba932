"""awbench: alertwall's benchmarks against a real Dovecot.

bench/run-dovecot runs them; each module is one benchmark with a
run(opts, report) function:

  success  LMTP deliveries/s and IMAP command loops/s, plugin on vs off
  instr    instructions per LMTP delivery / IMAP loop / dovecot-lda run
           under callgrind, plugin on vs off
  latency  from a failed delivery's reply to the alert mail in the
           admin's folder
  storm    many failing deliveries over many mailboxes of one profile
  state    bench-state: failure cost as the file and redis stores grow
  inproc   the in-process benchmarks bench-raise and bench-classify

They use the integration harness (tests/integration/awtest) for private
Dovecot instances and the C programs of bench/ (bench-load, bench-state,
bench-raise, bench-classify) from the build directory.
"""
