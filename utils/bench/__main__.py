from utils.bench.cli import main

raise SystemExit(main())
