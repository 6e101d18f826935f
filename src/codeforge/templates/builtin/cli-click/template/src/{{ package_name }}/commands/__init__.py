"""Commands of ``{{ command_name }}``, one module each."""
