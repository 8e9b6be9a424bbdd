try:
    from kwsauto.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python loads the command: nothing started, nothing to report
    raise SystemExit(130) from None

raise SystemExit(main())
