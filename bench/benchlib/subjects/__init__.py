"""What is measured: the floors, our classes and the peers, each behind one driver interface."""
