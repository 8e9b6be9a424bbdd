from kwsauto.cli import main

raise SystemExit(main())
