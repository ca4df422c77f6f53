from patchworks_mock.cli import main

raise SystemExit(main())
