try:
    from arena.cli import main
except KeyboardInterrupt:  # Ctrl-C while Arena itself loads: said as any other interrupted command
    import sys

    print("arena: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
