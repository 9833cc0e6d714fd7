"""登记: registrations, applications and their procedure, notices, public notice, certificate records."""
