from celery import shared_task

from .services import job_execute


@shared_task(name="jobs.tasks.run_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: int) -> None:
    job_execute(job_id=job_id)
