"""What only the template needs: turning a copy into a named service (copier.yml runs it)."""
